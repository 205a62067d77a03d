// Double's BLAS level-1 routines: the only place `cblas_d*` is called.

internal import CBLAS

extension Double: BLASScalar {
  /// `cblas_ddot` over blocks of ``blasDotBlockLength`` elements, added in order, so that
  /// no call is long enough for OpenBLAS to split it over its own threads.
  @inline(__always)
  public static func _blasDot(
    _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, count: Int
  ) -> Double {
    var total = 0.0
    var start = 0
    while start < count {
      let length = min(blasDotBlockLength, count - start)
      total += cblas_ddot(blasint(length), x + start, 1, y + start, 1)
      start += length
    }
    return total
  }

  @inline(__always)
  public static func _blasAxpy(
    _ alpha: Double, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int
  ) {
    cblas_daxpy(blasint(count), alpha, x, 1, y, 1)
  }

  @inline(__always)
  public static func _blasScale(_ alpha: Double, _ x: UnsafeMutablePointer<Double>, count: Int) {
    cblas_dscal(blasint(count), alpha, x, 1)
  }

  @inline(__always)
  public static func _blasNorm2(_ x: UnsafePointer<Double>, count: Int) -> Double {
    cblas_dnrm2(blasint(count), x, 1)
  }
}
