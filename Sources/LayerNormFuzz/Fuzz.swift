// The fuzz target: decodes a normalization call from the fuzzer's bytes and checks it.
//
// Built for fuzzing (Scripts/fuzz.sh: --sanitize=fuzzer and -DLIBFUZZER), libFuzzer's own
// main drives LLVMFuzzerTestOneInput. Built plainly, the executable replays files instead:
//   layernorm-fuzz FILE_OR_DIRECTORY...

import _LayerNormTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// libFuzzer's entry point: one input. A violated check prints the case and aborts, which
/// libFuzzer records as a crash with the input saved.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
  if let failure = FuzzCase(bytes: bytes).check() {
    var message = "layernorm-fuzz: \(failure)\n"
    message.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
    abort()
  }
  return 0
}

#if !LIBFUZZER
/// Replays the given files (or every file in the given folders) through the checks.
@main
struct FuzzMain {
  static func main() {
    replay(Array(CommandLine.arguments.dropFirst()))
  }

  static func replay(_ paths: [String]) {
    do {
      var files: [String] = []
      for path in paths {
        if let directory = opendir(path) {
          while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
              String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if !name.hasPrefix(".") { files.append(path + "/" + name) }
          }
          closedir(directory)
        } else {
          files.append(path)
        }
      }
      var failures = 0
      for file in files.sorted() {
        guard let handle = fopen(file, "rb") else {
          print("cannot read \(file)")
          failures += 1
          continue
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
          let read = fread(&buffer, 1, buffer.count, handle)
          if read <= 0 { break }
          bytes += buffer[0..<read]
        }
        fclose(handle)
        if let failure = FuzzCase(bytes: bytes).check() {
          print("FAIL \(file): \(failure)")
          failures += 1
        }
      }
      print("\(files.count - failures) passed, \(failures) failed")
      exit(failures == 0 ? 0 : 1)
    }
  }
}
#endif
