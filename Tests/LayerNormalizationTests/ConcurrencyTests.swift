// Many callers at once: one shared layer and separate ones, forward and backward.

import Dispatch
import LayerNormalization
import Testing

@Suite("Concurrent callers")
struct ConcurrencyTests {
  @Test("Forward and backward from 16 threads at once equal a serial run bit for bit")
  func stress() throws {
    var generator = SeededGenerator(seed: 31)
    let shapes: [[Int]] = [[64, 96], [7, 5, 40], [300, 8], [3, 6000]]
    var shared: [LayerNorm<Float>] = []
    var inputs: [ShapedArray<Float>] = []
    var gradients: [ShapedArray<Float>] = []
    var serial: [(y: [Float], dx: [Float], dw: [Float])] = []
    for shape in shapes {
      let count = shape.reduce(1, *)
      var norm = try LayerNorm<Float>(normalizedShape: [shape.last!])
      norm.weight = generator.values(shape.last!, as: Float.self, scale: 0.5, offset: 1).converted(to: Float.self)
      norm.maximumThreadCount = 2
      let x = try ShapedArray(shape: shape, scalars: generator.values(count, as: Float.self, scale: 2).converted(to: Float.self))
      let dy = try ShapedArray(shape: shape, scalars: generator.values(count, as: Float.self).converted(to: Float.self))
      let y = try norm(x)
      let g = try norm.backward(dy, input: x)
      shared.append(norm)
      inputs.append(x)
      gradients.append(dy)
      serial.append((y.scalars, g.input!.scalars, g.weight!))
    }
    let callers = 16
    let rounds = 20
    let mismatches = Counter()
    let layers = shared
    let xs = inputs
    let dys = gradients
    let expected = serial
    DispatchQueue.concurrentPerform(iterations: callers) { caller in
      for round in 0..<rounds {
        let k = (caller + round) % layers.count
        // Odd callers use the shared layer value, even ones their own copy.
        var layer = layers[k]
        if caller % 2 == 0 { layer.maximumThreadCount = 1 + caller % 3 }
        do {
          let y = try layer(xs[k])
          let g = try layer.backward(dys[k], input: xs[k])
          if !sameBits(y.scalars, expected[k].y) || !sameBits(g.input!.scalars, expected[k].dx)
            || !sameBits(g.weight!, expected[k].dw)
          {
            mismatches.increment()
          }
        } catch {
          mismatches.increment()
        }
      }
    }
    #expect(mismatches.value == 0, "\(mismatches.value) of \(callers * rounds) concurrent calls differed")
  }
}

/// A thread-safe counter for the stress test.
final class Counter: @unchecked Sendable {
  private var count = 0
  private let queue = DispatchQueue(label: "counter")
  func increment() { queue.sync { count += 1 } }
  var value: Int { queue.sync { count } }
}
