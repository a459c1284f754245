import Testing
@testable import SwitchboardIO

@Suite("Duration in loop milliseconds")
struct DurationMillisecondsTests {
    @Test func roundsUpSaturatesAndClampsNegatives() {
        #expect(Duration.seconds(30).milliseconds == 30_000)
        #expect(Duration.milliseconds(250).milliseconds == 250)
        #expect(Duration.microseconds(1).milliseconds == 1)  // never early
        #expect(Duration.microseconds(1_500).milliseconds == 2)
        #expect(Duration.zero.milliseconds == 0)
        #expect(Duration.seconds(-5).milliseconds == 0)
        #expect(Duration.seconds(Int64.max).milliseconds == .max)
    }
}
