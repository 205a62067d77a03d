// The caller-owned buffers the zero-copy API is timed on.

import LayerNormalization

/// A buffer of `count` scalars whose first element sits `offset` bytes after a 64-byte
/// boundary, as a caller would allocate it for the zero-copy API.
///
/// Offset 0 is what PyTorch's CPU allocator gives every tensor the peers are timed on (it
/// aligns to 64 bytes), and what `UnsafeMutableRawPointer.allocate(byteCount:alignment: 64)`
/// gives a Swift caller. A Swift `Array` of 128 KiB or more starts 48 bytes into a line
/// (glibc maps it and puts its 16-byte chunk header and the array's 32-byte header first):
/// `--offset 48` measures the package on such arrays.
final class CallerBuffer<Scalar: BLASScalar> {
  private let start: UnsafeMutableRawPointer
  private let elements: UnsafeMutableBufferPointer<Scalar>

  init(_ values: [Scalar], offset: Int) {
    precondition(offset >= 0 && offset < 64 && offset % MemoryLayout<Scalar>.alignment == 0)
    start = .allocate(byteCount: values.count * MemoryLayout<Scalar>.stride + offset, alignment: 64)
    elements = UnsafeMutableBufferPointer(
      start: (start + offset).bindMemory(to: Scalar.self, capacity: values.count), count: values.count)
    _ = elements.initialize(from: values)
  }

  convenience init(zeros count: Int, offset: Int) {
    self.init([Scalar](repeating: 0, count: count), offset: offset)
  }

  deinit { start.deallocate() }

  subscript(index: Int) -> Scalar {
    get { elements[index] }
    set { elements[index] = newValue }
  }

  func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
    try body(UnsafeBufferPointer(elements))
  }

  func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R)
    rethrows -> R
  {
    try body(elements)
  }
}
