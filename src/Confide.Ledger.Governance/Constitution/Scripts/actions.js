// The actions of the default constitution. Each action checks its arguments in validate(args),
// which must not touch the store, and makes its change in apply(args, proposalId).
// Behaviour follows CCF's default constitution; the code is this project's own.

const SINGLETON = new ArrayBuffer(8);

const MAP = Object.freeze({
  constitution: "public:ccf.gov.constitution",
  memberCerts: "public:ccf.gov.members.certs",
  memberInfo: "public:ccf.gov.members.info",
  memberKeys: "public:ccf.gov.members.encryption_public_keys",
  memberAcks: "public:ccf.gov.members.acks",
  coseHistory: "public:ccf.gov.cose_history",
  userCerts: "public:ccf.gov.users.certs",
  userInfo: "public:ccf.gov.users.info",
  nodes: "public:ccf.gov.nodes.info",
  endorsedNodeCerts: "public:ccf.gov.nodes.endorsed_certificates",
  codeIds: "public:ccf.gov.nodes.code_ids",
  serviceInfo: "public:ccf.gov.service.info",
  serviceConfig: "public:ccf.gov.service.config",
  proposalsInfo: "public:ccf.gov.proposals_info",
  signatures: "public:ccf.internal.signatures",
  jwtIssuers: "public:ccf.gov.jwt.issuers",
  jwtKeys: "public:ccf.gov.jwt.public_signing_keys",
});

// ---- argument checks (validate) ----

function requireArgs(args) {
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    throw new Error("args must be an object");
  }
  return args;
}

function requireType(value, type, field) {
  const optional = type.endsWith("?");
  const wanted = optional ? type.slice(0, -1) : type;
  if (optional && (value === undefined || value === null)) {
    return;
  }
  const matches =
    wanted === "integer" ? Number.isInteger(value)
    : wanted === "array" ? Array.isArray(value)
    : wanted === "object" ? value !== null && typeof value === "object" && !Array.isArray(value)
    : typeof value === wanted;
  if (!matches) {
    const actual = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
    throw new Error(`${field} must be ${optional ? "an optional " : "a "}${wanted}, not ${actual}`);
  }
}

function requireRange(value, low, high, field) {
  if (value < low || value > high) {
    throw new Error(`${field} must be between ${low} and ${high}, not ${value}`);
  }
}

function requireOneOf(value, allowed, field) {
  if (!allowed.includes(value)) {
    throw new Error(`${field} must be one of ${allowed.join(", ")}, not ${value}`);
  }
}

// Member, user and node ids are hex SHA-256 digests: 64 hex characters.
function requireEntityId(value, field) {
  requireType(value, "string", field);
  if (!/^[0-9a-fA-F]{64}$/.test(value)) {
    throw new Error(`${field} must be 64 hexadecimal characters (a SHA-256 digest)`);
  }
}

function requireCertificate(value, field) {
  requireType(value, "string", field);
  if (!ccf.crypto.isValidX509CertBundle(value)) {
    throw new Error(`${field} must be an X.509 certificate (bundle) in PEM format`);
  }
}

// ---- store helpers (apply) ----

function key(text) {
  return ccf.strToBuf(text);
}

function readJson(mapName, k) {
  const raw = ccf.kv[mapName].get(k);
  return raw === undefined ? undefined : ccf.bufToJsonCompatible(raw);
}

function writeJson(mapName, k, value) {
  ccf.kv[mapName].set(k, ccf.jsonCompatibleToBuf(value));
}

function serviceConfig() {
  return readJson(MAP.serviceConfig, SINGLETON) ?? {};
}

function serviceStatus() {
  const info = readJson(MAP.serviceInfo, SINGLETON);
  return info === undefined ? undefined : info.status;
}

function activeMemberIds() {
  const ids = [];
  ccf.kv[MAP.memberInfo].forEach((raw, k) => {
    if (ccf.bufToJsonCompatible(raw).status === "Active") {
      ids.push(ccf.bufToStr(k));
    }
  });
  return ids;
}

function activeRecoveryMemberCount() {
  let count = 0;
  ccf.kv[MAP.memberKeys].forEach((_, memberId) => {
    const info = readJson(MAP.memberInfo, memberId);
    if (info !== undefined && info.status === "Active") {
      count++;
    }
  });
  return count;
}

// A change to what the other open proposals would mean (a new constitution, a new code id) makes
// their votes stale: they are dropped rather than left to pass under rules nobody voted on.
function dropOtherOpenProposals(keptProposalId) {
  const infos = ccf.kv[MAP.proposalsInfo];
  infos.forEach((raw, k) => {
    if (ccf.bufToStr(k) === keptProposalId) {
      return;
    }
    const info = ccf.bufToJsonCompatible(raw);
    if (info.state === "Open") {
      info.state = "Dropped";
      infos.set(k, ccf.jsonCompatibleToBuf(info));
    }
  });
}

function updateServiceConfig(changes) {
  const config = serviceConfig();
  const threshold = changes.recovery_threshold;
  if (threshold !== undefined && threshold !== config.recovery_threshold) {
    const status = serviceStatus();
    if (status === "WaitingForRecoveryShares") {
      throw new Error(`Cannot set the recovery threshold while the service is ${status}`);
    }
    if (status === "Open") {
      const recoveryMembers = activeRecoveryMemberCount();
      if (threshold > recoveryMembers) {
        throw new Error(
          `Cannot set the recovery threshold to ${threshold}: there are only ${recoveryMembers} active recovery members`);
      }
    }
    config.recovery_threshold = threshold;
  }
  if (changes.recent_cose_proposals_window_size !== undefined) {
    config.recent_cose_proposals_window_size = changes.recent_cose_proposals_window_size;
  }
  writeJson(MAP.serviceConfig, SINGLETON, config);
}

// ---- the actions ----

const actions = new Map();

function action(name, validate, apply) {
  actions.set(name, Object.freeze({ validate, apply }));
}

action(
  "set_constitution",
  (args) => {
    requireType(requireArgs(args).constitution, "string", "constitution");
  },
  (args, proposalId) => {
    writeJson(MAP.constitution, SINGLETON, args.constitution);
    dropOtherOpenProposals(proposalId);
  });

action(
  "set_member",
  (args) => {
    requireArgs(args);
    requireCertificate(args.cert, "cert");
    requireType(args.encryption_pub_key, "string?", "encryption_pub_key");
    requireType(args.member_data, "object?", "member_data");
    if (args.recovery_role !== undefined) {
      requireOneOf(args.recovery_role, ["NonParticipant", "Participant", "Owner"], "recovery_role");
      if (args.encryption_pub_key == null) {
        throw new Error("recovery_role needs an encryption_pub_key");
      }
    }
  },
  (args) => {
    const memberId = key(ccf.pemToId(args.cert));
    ccf.kv[MAP.memberCerts].set(memberId, ccf.strToBuf(args.cert));
    if (args.encryption_pub_key == null) {
      ccf.kv[MAP.memberKeys].delete(memberId);
    } else {
      ccf.kv[MAP.memberKeys].set(memberId, ccf.strToBuf(args.encryption_pub_key));
    }
    const info = { status: "Accepted" };
    if (args.member_data != null) {
      info.member_data = args.member_data;
    }
    if (args.recovery_role !== undefined) {
      info.recovery_role = args.recovery_role;
    }
    writeJson(MAP.memberInfo, memberId, info);

    // A new member becomes Active by acknowledging the latest signed state.
    const signature = readJson(MAP.signatures, SINGLETON);
    writeJson(MAP.memberAcks, memberId, { state_digest: signature === undefined ? "" : signature.root });
  });

action(
  "set_member_data",
  (args) => {
    requireEntityId(requireArgs(args).member_id, "member_id");
    requireType(args.member_data, "object", "member_data");
  },
  (args) => {
    const info = readJson(MAP.memberInfo, key(args.member_id));
    if (info === undefined) {
      throw new Error(`Member ${args.member_id} does not exist`);
    }
    info.member_data = args.member_data;
    writeJson(MAP.memberInfo, key(args.member_id), info);
  });

action(
  "remove_member",
  (args) => {
    requireEntityId(requireArgs(args).member_id, "member_id");
  },
  (args) => {
    const memberId = key(args.member_id);
    const info = readJson(MAP.memberInfo, memberId);
    if (info === undefined) {
      return; // already gone
    }
    if (info.status === "Active") {
      if (activeMemberIds().length === 1) {
        throw new Error(`Member ${args.member_id} is the last active member; removing it would leave nobody to govern`);
      }
      if (ccf.kv[MAP.memberKeys].has(memberId)) {
        const left = activeRecoveryMemberCount() - 1;
        const threshold = serviceConfig().recovery_threshold ?? 0;
        if (left < threshold) {
          throw new Error(
            `Removing member ${args.member_id} would leave ${left} active recovery members, fewer than the recovery threshold ${threshold}`);
        }
      }
    }
    for (const mapName of [MAP.memberInfo, MAP.memberKeys, MAP.memberCerts, MAP.memberAcks, MAP.coseHistory]) {
      ccf.kv[mapName].delete(memberId);
    }
  });

action(
  "set_user",
  (args) => {
    requireCertificate(requireArgs(args).cert, "cert");
    requireType(args.user_data, "object?", "user_data");
  },
  (args) => {
    const userId = key(ccf.pemToId(args.cert));
    ccf.kv[MAP.userCerts].set(userId, ccf.strToBuf(args.cert));
    if (args.user_data == null) {
      ccf.kv[MAP.userInfo].delete(userId);
    } else {
      writeJson(MAP.userInfo, userId, { user_data: args.user_data });
    }
  });

action(
  "set_user_data",
  (args) => {
    requireEntityId(requireArgs(args).user_id, "user_id");
    requireType(args.user_data, "object?", "user_data");
  },
  (args) => {
    const userId = key(args.user_id);
    if (!ccf.kv[MAP.userCerts].has(userId)) {
      throw new Error(`User ${args.user_id} does not exist`);
    }
    if (args.user_data == null) {
      ccf.kv[MAP.userInfo].delete(userId);
    } else {
      writeJson(MAP.userInfo, userId, { user_data: args.user_data });
    }
  });

action(
  "remove_user",
  (args) => {
    requireEntityId(requireArgs(args).user_id, "user_id");
  },
  (args) => {
    ccf.kv[MAP.userCerts].delete(key(args.user_id));
    ccf.kv[MAP.userInfo].delete(key(args.user_id));
  });

action(
  "add_node_code",
  (args) => {
    requireType(requireArgs(args).code_id, "string", "code_id");
    if (!/^[0-9a-fA-F]+$/.test(args.code_id)) {
      throw new Error("code_id must be a hexadecimal measurement");
    }
  },
  (args, proposalId) => {
    writeJson(MAP.codeIds, key(args.code_id), "AllowedToJoin");
    dropOtherOpenProposals(proposalId);
  });

action(
  "remove_node_code",
  (args) => {
    requireType(requireArgs(args).code_id, "string", "code_id");
  },
  (args) => {
    ccf.kv[MAP.codeIds].delete(key(args.code_id));
  });

action(
  "transition_node_to_trusted",
  (args) => {
    requireEntityId(requireArgs(args).node_id, "node_id");
    requireType(args.valid_from, "string?", "valid_from");
    requireType(args.validity_period_days, "integer?", "validity_period_days");
    if (args.validity_period_days != null) {
      requireRange(args.validity_period_days, 1, 3650, "validity_period_days");
    }
  },
  (args) => {
    const nodeId = key(args.node_id);
    const node = readJson(MAP.nodes, nodeId);
    if (node === undefined) {
      throw new Error(`No such node: ${args.node_id}`);
    }
    if (node.status === "Retired") {
      throw new Error(`Node ${args.node_id} is retired and cannot be trusted again`);
    }
    if (node.status === "Pending") {
      node.status = "Trusted";
      writeJson(MAP.nodes, nodeId, node);
    }
  });

action(
  "remove_node",
  (args) => {
    requireEntityId(requireArgs(args).node_id, "node_id");
  },
  (args) => {
    const nodeId = key(args.node_id);
    const node = readJson(MAP.nodes, nodeId);
    if (node === undefined) {
      return; // already gone
    }
    if (node.status === "Pending") {
      // Never part of the service: forget it.
      ccf.kv[MAP.nodes].delete(nodeId);
    } else {
      // Was part of the service: the ledger keeps saying so.
      node.status = "Retired";
      writeJson(MAP.nodes, nodeId, node);
    }
    ccf.kv[MAP.endorsedNodeCerts].delete(nodeId);
  });

action(
  "transition_service_to_open",
  (args) => {
    requireCertificate(requireArgs(args).next_service_identity, "next_service_identity");
    if (args.previous_service_identity !== undefined) {
      requireCertificate(args.previous_service_identity, "previous_service_identity");
    }
  },
  (args) => {
    const info = readJson(MAP.serviceInfo, SINGLETON);
    if (info === undefined) {
      throw new Error("The service information could not be found");
    }
    if (info.cert !== undefined && ccf.pemToId(info.cert) !== ccf.pemToId(args.next_service_identity)) {
      throw new Error("next_service_identity is not this service's certificate");
    }
    if (info.status === "Opening") {
      info.status = "Open";
    } else if (info.status === "Recovering") {
      if (args.previous_service_identity === undefined) {
        throw new Error("Opening a recovering service needs both the previous and the next service identity");
      }
      // The recovering node records which identity its ledger belongs to: members confirm it.
      if (info.previous_service_identity !== undefined
        && ccf.pemToId(info.previous_service_identity) !== ccf.pemToId(args.previous_service_identity)) {
        throw new Error("previous_service_identity is not the identity of the ledger being recovered");
      }
      // The private ledger opens once enough recovery shares arrive.
      info.status = "WaitingForRecoveryShares";
      info.previous_service_identity = args.previous_service_identity;
    } else {
      throw new Error(`The service is ${info.status}; only an Opening or Recovering service can be opened`);
    }
    writeJson(MAP.serviceInfo, SINGLETON, info);
  });

action(
  "set_recovery_threshold",
  (args) => {
    requireType(requireArgs(args).recovery_threshold, "integer", "recovery_threshold");
    requireRange(args.recovery_threshold, 1, 254, "recovery_threshold");
  },
  (args) => {
    updateServiceConfig({ recovery_threshold: args.recovery_threshold });
  });

action(
  "set_service_configuration",
  (args) => {
    requireArgs(args);
    for (const name of Object.keys(args)) {
      requireOneOf(name, ["recovery_threshold", "recent_cose_proposals_window_size"], "configuration field");
    }
    requireType(args.recovery_threshold, "integer?", "recovery_threshold");
    if (args.recovery_threshold != null) {
      requireRange(args.recovery_threshold, 1, 254, "recovery_threshold");
    }
    requireType(args.recent_cose_proposals_window_size, "integer?", "recent_cose_proposals_window_size");
    if (args.recent_cose_proposals_window_size != null) {
      requireRange(args.recent_cose_proposals_window_size, 1, 10000, "recent_cose_proposals_window_size");
    }
  },
  (args) => {
    updateServiceConfig(args);
  });

// JWT issuers whose tokens authenticate users (CCF's set_jwt_issuer with its keys given inline,
// as jwks, since a node fetches nothing).
action(
  "set_jwt_issuer",
  (args) => {
    requireType(requireArgs(args).issuer, "string", "issuer");
    if (!args.issuer.startsWith("https://")) {
      throw new Error(`issuer must be an https URL, not ${args.issuer}`);
    }
    requireType(args.jwks, "object", "jwks");
    requireType(args.jwks.keys, "array", "jwks.keys");
    if (args.jwks.keys.length === 0) {
      throw new Error("jwks.keys must hold at least one key");
    }
    for (const k of args.jwks.keys) {
      requireType(k, "object", "jwks.keys[]");
      requireType(k.kty, "string", "jwks.keys[].kty");
      requireOneOf(k.kty, ["RSA", "EC"], "jwks.keys[].kty");
      requireType(k.kid, "string", "jwks.keys[].kid");
    }
  },
  (args) => {
    writeJson(MAP.jwtIssuers, key(args.issuer), { key_filter: "all" });
    writeJson(MAP.jwtKeys, key(args.issuer), args.jwks);
  });

action(
  "remove_jwt_issuer",
  (args) => {
    requireType(requireArgs(args).issuer, "string", "issuer");
  },
  (args) => {
    ccf.kv[MAP.jwtIssuers].delete(key(args.issuer));
    ccf.kv[MAP.jwtKeys].delete(key(args.issuer));
  });
