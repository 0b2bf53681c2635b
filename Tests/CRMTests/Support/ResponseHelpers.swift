import Foundation
import HTTPTypes

extension APIResponse {
    /// An answer from its status, headers and body bytes, the JSON decoded when it is JSON.
    init(status: Int, headers: HTTPFields, body data: Data) {
        self.init(status: status, headers: headers, json: data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data),
                  text: String(decoding: data, as: UTF8.self))
    }

    /// `components.schemas` of an OpenAPI document; nil when the answer has none.
    var openAPISchemas: [String: Any]? { (object["components"] as? [String: Any])?["schemas"] as? [String: Any] }
}
