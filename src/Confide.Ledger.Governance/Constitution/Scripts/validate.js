// validate(input): is the proposal a list of known actions with well-formed arguments?
export function validate(input) {
  let proposal;
  try {
    proposal = JSON.parse(input);
  } catch (e) {
    return { valid: false, description: `The proposal is not JSON: ${e.message}` };
  }
  if (proposal === null || typeof proposal !== "object" || !Array.isArray(proposal.actions)) {
    return { valid: false, description: "The proposal must be an object with an \"actions\" array" };
  }

  const problems = [];
  proposal.actions.forEach((proposed, position) => {
    const name = proposed !== null && typeof proposed === "object" ? proposed.name : undefined;
    const definition = typeof name === "string" ? actions.get(name) : undefined;
    if (definition === undefined) {
      problems.push(`${name}: no such action`);
      return;
    }
    try {
      definition.validate(proposed.args);
    } catch (e) {
      problems.push(`${name} at position ${position} failed validation: ${e.message}`);
    }
  });
  return { valid: problems.length === 0, description: problems.join(", ") };
}
