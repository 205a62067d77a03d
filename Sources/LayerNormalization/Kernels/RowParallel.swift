// Splitting rows over threads: fixed blocks, so results never depend on the thread count.

import Dispatch
internal import _LayerNormKernels

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
let minimumElementsPerThread = 1 << 13

/// Work (elements per thread) from which Dispatch is worth waking when the package's
/// workers are busy with another thread's call; below it such a call runs on its caller.
let minimumElementsPerDispatchThread = 1 << 15

/// Runs `body` over `0..<rows` in contiguous blocks, on up to `maximumThreads` threads.
///
/// The blocks run on the calling thread and the package's worker threads
/// (`lnk_run_parallel`), which look for the next call for 50 µs after each one, so that a
/// second thread pays even for small inputs; work below `minimumElementsPerThread` elements
/// per thread stays on the calling thread. While the workers serve another thread's call,
/// large work goes to Dispatch and small work runs on the calling thread. Each row is
/// processed by exactly one call of `body`, and a row's result never depends on how the rows
/// were split, so any thread count gives bitwise identical output.
///
/// - Parameters:
///   - rows: the number of rows.
///   - elementsPerRow: the work per row, used only to decide how many threads to use.
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
    let part: (Int) -> Void = { part in
      body(rows * part / threads..<rows * (part + 1) / threads)
    }
    let ran = withUnsafePointer(to: part) { part in
      lnk_run_parallel(
        threads,
        { context, index in
          context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
        }, UnsafeMutableRawPointer(mutating: part))
    }
    if ran != 0 { return }
    if work / threads >= minimumElementsPerDispatchThread {
      let task = SendableBox(part)
      DispatchQueue.concurrentPerform(iterations: threads) { task.value($0) }
    } else {
      body(0..<rows)
    }
  }
}

/// Carries a value that the package knows to be safe to share across the worker threads of
/// one call: raw pointers to disjoint rows, or a closure over them.
struct SendableBox<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
