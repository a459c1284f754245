/// What the deadline sweep needs of a member: its deadline, its place in
/// the set (so removal is O(1) and needs no lookup), and the call when the
/// deadline passes.
protocol DeadlineMember: AnyObject {
    /// The member's index in the set, or -1 when it is not in it.
    var deadlineSlot: Int32 { get set }
    var deadline: UInt64? { get }
    func deadlinePassed()
}

/// The members of one loop that have a deadline, with no clock and no
/// libuv: `DeadlineSweep` drives it from a timer; the tests drive it from a
/// model. Generic, so the loop's set of `TCPConnection`s stores plain
/// references (8 bytes a member, not an existential's 16).
final class DeadlineSet<Member: DeadlineMember> {
    @exclusivity(unchecked) private(set) var members: [Member] = []

    var isEmpty: Bool { members.isEmpty }

    /// Adds `member`, or keeps it with whatever deadline it has now.
    func track(_ member: Member) {
        guard member.deadlineSlot < 0 else { return }
        member.deadlineSlot = Int32(members.count)
        members.append(member)
    }

    /// Removes `member` (swap-remove, O(1)).
    func untrack(_ member: Member) {
        let slot = Int(member.deadlineSlot)
        guard slot >= 0 else { return }
        let last = members.removeLast()
        if slot < members.count {
            members[slot] = last
            last.deadlineSlot = Int32(slot)
        }
        member.deadlineSlot = -1
    }

    /// Removes every member whose deadline is at or before `now` and calls
    /// its `deadlinePassed`. A call may track or untrack this or other
    /// members: the list is read again after each.
    func expire(now: UInt64) {
        var index = 0
        while index < members.count {
            let member = members[index]
            if let deadline = member.deadline, deadline <= now {
                untrack(member)
                member.deadlinePassed()
                continue
            }
            index += 1
        }
    }

    func removeAll() {
        for member in members { member.deadlineSlot = -1 }
        members.removeAll()
    }
}
