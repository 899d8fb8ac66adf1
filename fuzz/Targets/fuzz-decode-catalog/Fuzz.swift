import FuzzDriver
import IngestionModel

/// Experience Platform's Catalog batch bodies through the decoder: any bytes, no crash, and
/// what it keeps stays within its bounds.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: data == nil ? 0 : count))
    if let batch = try? IngestionResponseDecoder.decodeCatalogBatch(bytes, id: "01FUZZBATCH") {
        precondition(batch.errors.count <= CatalogBatch.errorLimit)
        precondition(batch.errors.allSatisfy { $0.code.count <= CatalogBatch.codeLimit && ($0.description?.count ?? 0) <= CatalogBatch.descriptionLimit })
    }
    return 0
}

@_cdecl("fuzz_decode_catalog_main")
func fuzzerMain(argc: CInt, argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, fuzz)
}
