/// A page of a list: `data` and the cursor of the next page, if any.
public struct Page<T: Encodable>: Encodable {
    public var data: [T]
    public var nextCursor: String?

    public init(data: [T], nextCursor: String?) {
        self.data = data
        self.nextCursor = nextCursor
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(data, forKey: .data)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
    enum CodingKeys: String, CodingKey { case data, nextCursor }
}
