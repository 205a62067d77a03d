// A reader for the .npy files the golden script writes: float64, C order, any shape.

import Foundation

/// An array read from a `.npy` file.
struct NPYArray {
  var shape: [Int]
  var values: [Double]
}

enum NPYError: Error, CustomStringConvertible {
  case malformed(String)
  var description: String {
    switch self { case .malformed(let why): return "malformed .npy: \(why)" }
  }
}

/// Parses version 1.0-3.0 `.npy` data holding little-endian float64 (`<f8`) in C order.
func readNPY(_ data: Data) throws -> NPYArray {
  let bytes = [UInt8](data)
  guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
    throw NPYError.malformed("bad magic")
  }
  let major = bytes[6]
  let headerLength: Int
  let headerStart: Int
  if major == 1 {
    headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    headerStart = 10
  } else {
    headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
    headerStart = 12
  }
  guard let header = String(bytes: bytes[headerStart..<headerStart + headerLength], encoding: .ascii)
  else { throw NPYError.malformed("header is not ASCII") }
  guard header.contains("'descr': '<f8'") else { throw NPYError.malformed("dtype is not <f8: \(header)") }
  guard header.contains("'fortran_order': False") else { throw NPYError.malformed("not C order") }
  guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
  else { throw NPYError.malformed("no shape: \(header)") }
  let shape = header[open.upperBound..<close].split(separator: ",").compactMap {
    Int($0.trimmingCharacters(in: .whitespaces))
  }
  let count = shape.reduce(1, *)
  let start = headerStart + headerLength
  guard bytes.count - start == count * 8 else { throw NPYError.malformed("size differs from shape \(shape)") }
  var values = [Double](repeating: 0, count: count)
  values.withUnsafeMutableBytes { out in
    out.copyBytes(from: bytes[start..<start + count * 8])
  }
  return NPYArray(shape: shape, values: values)
}
