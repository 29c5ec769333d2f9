import Testing

@testable import AgentSafeCore

@Suite("Risk matrix and risk classes")
struct RiskMatrixTests {
    /// Upstream §2.4, every cell.
    static let table: [(RiskClass, Sensitivity, RiskClass)] = [
        (.low, .public, .low), (.low, .internal, .low), (.low, .restricted, .medium), (.low, .critical, .high),
        (.medium, .public, .low), (.medium, .internal, .medium), (.medium, .restricted, .high),
        (.medium, .critical, .critical),
        (.high, .public, .medium), (.high, .internal, .high), (.high, .restricted, .critical),
        (.high, .critical, .critical),
        (.critical, .public, .high), (.critical, .internal, .critical), (.critical, .restricted, .critical),
        (.critical, .critical, .critical),
    ]

    @Test("every cell of the matrix", arguments: table)
    func cell(_ row: (RiskClass, Sensitivity, RiskClass)) {
        #expect(RiskMatrix.effectiveRisk(action: row.0, sensitivity: row.1) == row.2)
    }

    @Test func raisingCapsAtCritical() {
        #expect(RiskClass.low.raised(by: 1) == .medium)
        #expect(RiskClass.low.raised(by: 3) == .critical)
        #expect(RiskClass.high.raised(by: 3) == .critical)
        #expect(RiskClass.medium.raised(by: 0) == .medium)
        #expect(RiskClass.low < .critical)
    }
}
