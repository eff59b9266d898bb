// apply(proposal, proposalId): every action in order; if one throws, none of their writes is kept.
export function apply(proposal, proposalId) {
  for (const proposed of JSON.parse(proposal).actions) {
    actions.get(proposed.name).apply(proposed.args, proposalId);
  }
}
