// Splitting rows over threads: fixed blocks, so results never depend on the thread count.

import Dispatch

#if canImport(Glibc)
  import Glibc
#endif

/// The number of processors online, the default for every layer's `maximumThreadCount`.
let onlineProcessorCount: Int = {
  #if canImport(Glibc)
    return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
  #else
    return 1
  #endif
}()

/// The least work (elements) worth a thread of its own; see `forEachRowBlock`.
let minimumElementsPerThread = 1 << 15

/// Runs `body` over `0..<rows` in contiguous blocks, on up to `maximumThreads` threads.
///
/// Work below `minimumElementsPerThread` elements per thread stays on the calling thread:
/// waking a second thread costs more than it saves on small inputs. Each row is processed by
/// exactly one call of `body`, and a row's result never depends on how the rows were split,
/// so any thread count gives bitwise identical output.
///
/// - Parameters:
///   - rows: the number of rows.
///   - elementsPerRow: the work per row, used only to decide how many threads to wake.
///   - maximumThreads: the caller's limit, at least 1.
///   - body: processes a contiguous range of rows; called concurrently for disjoint ranges.
func forEachRowBlock(
  rows: Int, elementsPerRow: Int, maximumThreads: Int,
  _ body: (Range<Int>) -> Void
) {
  let work = rows &* max(elementsPerRow, 1)
  let threads = min(maximumThreads, rows, max(1, work / minimumElementsPerThread))
  if threads <= 1 {
    if rows > 0 { body(0..<rows) }
    return
  }
  withoutActuallyEscaping(body) { body in
    let task = SendableBox(body)
    DispatchQueue.concurrentPerform(iterations: threads) { part in
      let start = rows * part / threads
      let end = rows * (part + 1) / threads
      task.value(start..<end)
    }
  }
}

/// Carries a value that the package knows to be safe to share across the worker threads of
/// one call: raw pointers to disjoint rows, or a closure over them.
struct SendableBox<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
