// resolve(proposal, proposerId, votes, proposalId): a strict majority of the active members decides.
// Only active members' votes count; a ballot that failed to run is not a vote at all.
export function resolve(proposal, proposerId, votes, proposalId) {
  const active = new Set(activeMemberIds());
  const majority = Math.floor(active.size / 2);
  let votesFor = 0;
  let votesAgainst = 0;
  for (const { member_id, vote } of votes) {
    if (!active.has(member_id)) {
      continue;
    }
    if (vote === true) {
      votesFor++;
    } else {
      votesAgainst++;
    }
  }
  if (votesFor > majority) {
    return "Accepted";
  }
  if (votesAgainst > majority) {
    return "Rejected";
  }
  return "Open";
}
