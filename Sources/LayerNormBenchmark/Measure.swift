// Timing: medians over repeated samples, each long enough for the clock to resolve.

import LayerNormalization
import _LayerNormTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// One measured implementation on one shape, in the record format of `shared/bench`.
struct BenchmarkRecord {
  var impl: String
  var op: String
  var dtype: String
  var threads: Int
  var rows: Int
  var features: Int
  var medianMicroseconds: Double
  var bytesMoved: Double

  var gigabytesPerSecond: Double { bytesMoved / (medianMicroseconds * 1e-6) / 1e9 }

  var json: String {
    let us = (medianMicroseconds * 1000).rounded() / 1000
    let gbps = (gigabytesPerSecond * 100).rounded() / 100
    return
      "{\"impl\": \"\(impl)\", \"op\": \"\(op)\", \"dtype\": \"\(dtype)\", \"threads\": \(threads), "
      + "\"N\": \(rows), \"D\": \(features), \"median_us\": \(us), \"gbps\": \(gbps)}"
  }
}

func nowNanoseconds() -> UInt64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Times one call of `body` in microseconds: warms it up and returns a sampler that runs
/// it enough times (at least once) for a sample to last at least 2 ms.
func sampler(_ body: @escaping () -> Void) -> () -> Double {
  body()
  let start = nowNanoseconds()
  body()
  let once = max(nowNanoseconds() - start, 1)
  let repeats = max(1, Int(2_000_000 / once))
  return {
    let t0 = nowNanoseconds()
    for _ in 0..<repeats { body() }
    return Double(nowNanoseconds() - t0) / Double(repeats) / 1000
  }
}

func median(_ values: [Double]) -> Double {
  let sorted = values.sorted()
  return sorted[sorted.count / 2]
}

/// The medians of `samples` samples of `ours` and, when given, `otherSamples` samples of
/// `other` (the naive loops), `other` first. Each runs back to back, as the peers' timings
/// do. The two are not interleaved: each naive run evicted the package's data, and the
/// package's next two samples ran slow (16x65536 forward: 1.0-1.2 ms, then 0.8, then 0.6
/// ms), so that interleaving raised its median to 0.7-1.2 ms against 0.57-0.61 ms alone.
/// The price: the ratio of the two carries whatever the machine did between them, so
/// ratios against the naive loops are best taken as medians over several runs.
func medians(
  samples: Int, _ ours: @escaping () -> Void, otherSamples: Int, _ other: (() -> Void)?
) -> (ours: Double, other: Double?) {
  var otherTimes: [Double] = []
  if let other {
    let timeOther = sampler(other)
    otherTimes = (0..<otherSamples).map { _ in timeOther() }
  }
  let timeOurs = sampler(ours)
  let oursTimes = (0..<samples).map { _ in timeOurs() }
  return (median(oursTimes), otherTimes.isEmpty ? nil : median(otherTimes))
}

func randomArray<Scalar: BLASScalar>(_ count: Int, seed: UInt64, scale: Double = 1, offset: Double = 0)
  -> [Scalar]
{
  var generator = SeededGenerator(seed: seed)
  return (0..<count).map { _ in Scalar(generator.nextSigned() * scale + offset) }
}

nonisolated(unsafe) var naiveCache: [String: Double] = [:]

/// Measures the package (and, once per shape, the naive loops) on one op.
func measure<Scalar: BLASScalar>(
  _ type: Scalar.Type, op: String, shape: (rows: Int, features: Int), threads: Int,
  options: BenchmarkOptions
) -> [BenchmarkRecord] {
  let (rows, features) = shape
  let count = rows * features
  let dtype = Scalar.self == Float.self ? "float32" : "float64"
  let size = Double(MemoryLayout<Scalar>.size)
  let offset = options.offset
  let inputValues: [Scalar] = randomArray(count, seed: 1, scale: 2, offset: 0.5)
  let x = CallerBuffer(inputValues, offset: offset)
  let residual = CallerBuffer<Scalar>(randomArray(count, seed: 2), offset: offset)
  let weight: [Scalar] = randomArray(features, seed: 3, scale: 0.5, offset: 1)
  let bias: [Scalar] = randomArray(features, seed: 4, scale: 0.5)
  let output = CallerBuffer<Scalar>(zeros: count, offset: offset)
  let sum = CallerBuffer<Scalar>(zeros: count, offset: offset)
  // The naive loops write to their own buffers, so that the package's samples taken after
  // them never stream their output onto lines the naive loops left dirty in cache.
  let naiveOutput = CallerBuffer<Scalar>(zeros: count, offset: offset)
  let naiveSum = CallerBuffer<Scalar>(zeros: count, offset: offset)
  var layer = try! LayerNorm<Scalar>(normalizedShape: [features])
  layer.weight = weight
  layer.bias = bias
  layer.maximumThreadCount = threads
  var rms = try! RMSNorm<Scalar>(normalizedShape: [features])
  rms.weight = weight
  rms.maximumThreadCount = threads
  let shapeArray = [rows, features]
  let eps = Scalar(1e-5)

  let ours: () -> Void
  let naive: () -> Void
  let bytes: Double
  switch op {
  case "forward", "forward_allocating":
    bytes = 2 * Double(count) * size
    if op == "forward_allocating" {
      // The allocating API: a new output each call, as F.layer_norm allocates its own (the
      // peers run with glibc's mapping of large allocations switched off, the package with
      // it on, as users have it).
      let input = try! ShapedArray(shape: shapeArray, scalars: inputValues)
      ours = { _ = try! layer(input) }
    } else {
      ours = {
        x.withUnsafeBufferPointer { x in
          output.withUnsafeMutableBufferPointer { y in try! layer.forward(x, shape: shapeArray, into: y) }
        }
      }
    }
    naive = {
      x.withUnsafeBufferPointer { x in
        naiveOutput.withUnsafeMutableBufferPointer { y in
          weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
              _NaiveLoops.layerNorm(x, into: y, weight: w, bias: b, rows: rows, features: features, eps: eps)
            }
          }
        }
      }
    }
  case "rms_forward":
    bytes = 2 * Double(count) * size
    ours = {
      x.withUnsafeBufferPointer { x in
        output.withUnsafeMutableBufferPointer { y in try! rms.forward(x, shape: shapeArray, into: y) }
      }
    }
    naive = {
      x.withUnsafeBufferPointer { x in
        naiveOutput.withUnsafeMutableBufferPointer { y in
          weight.withUnsafeBufferPointer { w in
            _NaiveLoops.rmsNorm(x, into: y, weight: w, rows: rows, features: features, eps: eps)
          }
        }
      }
    }
  case "add_forward", "add_forward_sum":
    // add_forward is the peers' op, layer_norm(x + residual): x and residual in, the output
    // out (3 N D elements). add_forward_sum also writes the sum, the next residual of a
    // pre-norm transformer (4 N D); the peers have no such op (PyTorch's sum is the
    // temporary `x + r`, dropped).
    let keepSum = op == "add_forward_sum"
    bytes = (keepSum ? 4 : 3) * Double(count) * size
    ours = {
      x.withUnsafeBufferPointer { x in
        residual.withUnsafeBufferPointer { r in
          sum.withUnsafeMutableBufferPointer { s in
            output.withUnsafeMutableBufferPointer { y in
              if keepSum {
                try! layer.addAndNormalize(x, residual: r, shape: shapeArray, sum: s, output: y)
              } else {
                try! layer.addAndNormalize(x, residual: r, shape: shapeArray, output: y)
              }
            }
          }
        }
      }
    }
    naive = {
      for i in 0..<count { naiveSum[i] = x[i] + residual[i] }
      naiveSum.withUnsafeBufferPointer { s in
        naiveOutput.withUnsafeMutableBufferPointer { y in
          weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
              _NaiveLoops.layerNorm(s, into: y, weight: w, bias: b, rows: rows, features: features, eps: eps)
            }
          }
        }
      }
    }
  case "backward", "backward_allocating":
    // From saved statistics, as PyTorch's native_layer_norm_backward: dx, dweight, dbias.
    bytes = 3 * Double(count) * size
    let dyValues: [Scalar] = randomArray(count, seed: 5)
    let dy = CallerBuffer<Scalar>(dyValues, offset: offset)
    let mean = CallerBuffer<Scalar>(zeros: rows, offset: offset)
    let rstd = CallerBuffer<Scalar>(zeros: rows, offset: offset)
    let dweight = CallerBuffer<Scalar>(zeros: features, offset: offset)
    let dbias = CallerBuffer<Scalar>(zeros: features, offset: offset)
    let naiveWeightGradient = CallerBuffer<Scalar>(zeros: features, offset: offset)
    let naiveBiasGradient = CallerBuffer<Scalar>(zeros: features, offset: offset)
    x.withUnsafeBufferPointer { x in
      output.withUnsafeMutableBufferPointer { y in
        mean.withUnsafeMutableBufferPointer { m in
          rstd.withUnsafeMutableBufferPointer { r in
            try! layer.forward(x, shape: shapeArray, into: y, mean: m, rstd: r)
          }
        }
      }
    }
    if op == "backward_allocating" {
      // The allocating API: new gradients each call, from the same saved statistics.
      let dyArray = try! ShapedArray(shape: shapeArray, scalars: dyValues)
      let input = try! ShapedArray(shape: shapeArray, scalars: inputValues)
      let savedMean = mean.withUnsafeBufferPointer { Array($0) }
      let savedRstd = rstd.withUnsafeBufferPointer { Array($0) }
      let meanArray = try! ShapedArray(shape: [rows], scalars: savedMean)
      let rstdArray = try! ShapedArray(shape: [rows], scalars: savedRstd)
      ours = { _ = try! layer.backward(dyArray, input: input, mean: meanArray, rstd: rstdArray) }
    } else {
      ours = {
        dy.withUnsafeBufferPointer { dy in
          x.withUnsafeBufferPointer { x in
            mean.withUnsafeBufferPointer { m in
              rstd.withUnsafeBufferPointer { r in
                output.withUnsafeMutableBufferPointer { dx in
                  dweight.withUnsafeMutableBufferPointer { dw in
                    dbias.withUnsafeMutableBufferPointer { db in
                      try! layer.backward(
                        outputGradient: dy, input: x, shape: shapeArray, mean: m, rstd: r,
                        inputGradient: dx, weightGradient: dw, biasGradient: db)
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    naive = {
      dy.withUnsafeBufferPointer { dy in
        x.withUnsafeBufferPointer { x in
          mean.withUnsafeBufferPointer { m in
            rstd.withUnsafeBufferPointer { r in
              weight.withUnsafeBufferPointer { w in
                naiveOutput.withUnsafeMutableBufferPointer { dx in
                  naiveWeightGradient.withUnsafeMutableBufferPointer { dw in
                    naiveBiasGradient.withUnsafeMutableBufferPointer { db in
                      _NaiveLoops.layerNormBackward(
                        dy, input: x, mean: m, rstd: r, weight: w, inputGradient: dx,
                        weightGradient: dw, biasGradient: db, rows: rows, features: features)
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  default:
    fatal("unknown op \(op)")
  }

  // The naive loops are timed once per op, dtype and shape (the 1-thread run), just
  // before the package.
  let key = "\(op) \(dtype) \(rows)x\(features)"
  let timeNaive = options.naive && naiveCache[key] == nil
  let times = medians(
    samples: options.samples, ours, otherSamples: max(3, options.samples / 3),
    timeNaive ? naive : nil)
  var records = [
    BenchmarkRecord(
      impl: "layernorm", op: op, dtype: dtype, threads: threads, rows: rows, features: features,
      medianMicroseconds: times.ours, bytesMoved: bytes)
  ]
  if options.naive, let time = times.other ?? naiveCache[key] {
    naiveCache[key] = time
    records.append(
      BenchmarkRecord(
        impl: "naive", op: op, dtype: dtype, threads: 1, rows: rows, features: features,
        medianMicroseconds: time, bytesMoved: bytes))
  }
  return records
}

nonisolated(unsafe) var printedHeader = false

/// Prints one table row: ours, naive, and the speedup.
func printRow(_ records: [BenchmarkRecord]) {
  if !printedHeader {
    print(
      pad("op", 12) + pad("dtype", 8) + pad("thr", 4) + pad("shape", 13) + pad("ours µs", 11)
        + pad("GB/s", 8) + pad("naive µs", 11) + "speedup")
    printedHeader = true
  }
  let ours = records[0]
  var line =
    pad(ours.op, 12) + pad(ours.dtype, 8) + pad("\(ours.threads)", 4)
    + pad("\(ours.rows)x\(ours.features)", 13) + pad(format(ours.medianMicroseconds), 11)
    + pad(format(ours.gigabytesPerSecond), 8)
  if records.count > 1 {
    let naive = records[1]
    line += pad(format(naive.medianMicroseconds), 11)
      + format(naive.medianMicroseconds / ours.medianMicroseconds) + "x"
  }
  print(line)
}

func pad(_ text: String, _ width: Int) -> String {
  text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

func format(_ value: Double) -> String {
  let digits = value >= 100 ? 0 : (value >= 10 ? 1 : 2)
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  let rounded = (value * scale).rounded() / scale
  return digits == 0 ? String(Int(rounded)) : String(rounded)
}
