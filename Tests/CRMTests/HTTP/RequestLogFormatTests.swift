@testable import CRMHTTP
import Testing

@Suite("Request log line: duration in milliseconds with two decimals")
struct RequestLogFormatTests {
    @Test("rounded half up to a hundredth of a millisecond, from nanoseconds to seconds")
    func milliseconds() {
        #expect(RequestLogMiddleware.milliseconds(.microseconds(12_345)) == "12.35")
        #expect(RequestLogMiddleware.milliseconds(.microseconds(12_344)) == "12.34")
        #expect(RequestLogMiddleware.milliseconds(.nanoseconds(4_000)) == "0.00")
        #expect(RequestLogMiddleware.milliseconds(.microseconds(5)) == "0.01")
        #expect(RequestLogMiddleware.milliseconds(.microseconds(1_050)) == "1.05")
        #expect(RequestLogMiddleware.milliseconds(.seconds(2)) == "2000.00")
    }
}
