// Whether the AVX2 kernels of _LayerNormKernels may run on this CPU, and their store fence.

internal import _LayerNormKernels

#if canImport(Glibc)
  import Glibc
#endif

/// True when the CPU has AVX2 and FMA, so the conformances call the C kernels; false sends
/// them to the portable Swift loops. Setting the environment variable
/// `LAYERNORMALIZATION_PORTABLE=1` forces the portable loops (the test script runs the
/// suite both ways).
let hasVectorKernels: Bool = {
  #if canImport(Glibc)
    if let value = getenv("LAYERNORMALIZATION_PORTABLE"), value.pointee != 0,
      String(cString: value) != "0"
    {
      return false
    }
  #endif
  return lnk_has_avx2_fma() != 0
}()

/// Outputs at least this large are written with non-temporal stores: they would not stay
/// in cache anyway, and skipping the read-for-ownership saves a third of the traffic.
/// Measured here (1 thread, three alternating runs): 4096x768 Float (12 MiB) 3.1-3.7 ms
/// ordinary, 2.3-2.8 ms streaming; 2048x768 (6 MiB) no clear gain, so the line is at 8 MiB.
let streamingOutputBytes = 8 << 20

/// Whether to write an output with non-temporal stores: only when it is large, and only
/// when every row starts and ends on a 16-byte boundary, so that no ordinary store shares a
/// cache line with streaming ones (measured: mixed lines made 32768x128 four times slower).
func shouldStream(_ output: UnsafeMutableRawPointer, rows: Int, rowBytes: Int) -> Bool {
  hasVectorKernels && rows * rowBytes >= streamingOutputBytes
    && Int(bitPattern: output) % 16 == 0 && rowBytes % 16 == 0
}

/// Makes non-temporal stores visible in order before the call returns.
func orderStreamingStores() {
  if hasVectorKernels { lnk_store_fence() }
}
