import Testing
import TestSupport
@testable import SwitchboardIO

/// The loop's deadline set against a model (the members a dictionary of
/// deadlines): seeded tracks, untracks, deadline changes and sweeps, with
/// callbacks that track and untrack other members while a sweep runs.
@Suite("Deadline set against a model")
struct DeadlineSetModelTests {
    final class Member: DeadlineMember {
        let id: Int
        var deadlineSlot: Int32 = -1
        var deadline: UInt64?
        var onPassed: (Member) -> Void = { _ in }
        private(set) var passedCount = 0
        init(id: Int) { self.id = id }
        func deadlinePassed() {
            passedCount += 1
            onPassed(self)
        }
    }

    @Test(arguments: [1, 2, 3])
    func randomOperationsMatchTheModel(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let set = DeadlineSet<Member>()
        let members = (0..<40).map { Member(id: $0) }
        var model: Set<Int> = []
        var now: UInt64 = 0
        for step in 0..<20_000 {
            let member = members[Int(random.below(UInt64(members.count)))]
            switch random.below(6) {
            case 0, 1:
                member.deadline = now + random.below(200)
                set.track(member)
                model.insert(member.id)
            case 2:
                set.untrack(member)
                model.remove(member.id)
            case 3:
                member.deadline = random.chance(4) ? nil : now + random.below(200)
            default:
                now += random.below(120)
                // A callback that moves another member in or out while the
                // sweep walks the list.
                let other = members[Int(random.below(UInt64(members.count)))]
                let retrack = random.chance(2)
                var moved: (id: Int, tracked: Bool)?
                member.onPassed = { passed in
                    guard moved == nil, other !== passed else { return }
                    if retrack { other.deadline = now + 500; set.track(other) } else { set.untrack(other) }
                    moved = (other.id, retrack)
                }
                let due = model.filter { id in members[id].deadline.map { $0 <= now } ?? false }
                let before = members.map(\.passedCount)
                set.expire(now: now)
                member.onPassed = { _ in }
                // Every member that was due has passed once and left; the one
                // a callback moved may have passed before or after it moved.
                for other in members {
                    let calls = other.passedCount - before[other.id]
                    if other.id == moved?.id {
                        #expect(calls <= 1, "step \(step)")
                    } else {
                        #expect(calls == (due.contains(other.id) ? 1 : 0), "step \(step): member \(other.id)")
                    }
                }
                model.subtract(due)
                if let moved {
                    if moved.tracked { model.insert(moved.id) } else { model.remove(moved.id) }
                }
            }
            let tracked = Set(set.members.map(\.id))
            #expect(tracked == model, "step \(step)")
            #expect(set.members.enumerated().allSatisfy { Int($0.element.deadlineSlot) == $0.offset }, "step \(step)")
            #expect(members.allSatisfy { model.contains($0.id) || $0.deadlineSlot == -1 }, "step \(step)")
        }
    }
}
