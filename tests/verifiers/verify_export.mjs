// An audit export verifier written apart from the product, in another language (Node.js, no
// packages): RFC 8785 from JSON.stringify (its number and string forms are JCS's) with members
// sorted by UTF-16 code units (JavaScript's own string order), SHA-256 and Ed25519 from node:crypto.
//
//   node verify_export.mjs EXPORT.json [PUBLIC_KEY]     (PUBLIC_KEY as `audit public-key` prints it)
//
// Prints "OK: N entries, K checkpoints" and exits 0, or "BAD: …" and exits 1.
import { createHash, createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";

function jcs(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return "[" + value.map(jcs).join(",") + "]";
  return "{" + Object.keys(value).sort().map((k) => JSON.stringify(k) + ":" + jcs(value[k])).join(",") + "}";
}

function bad(text) {
  console.log("BAD: " + text);
  process.exit(1);
}

const [file, publicKeyText] = process.argv.slice(2);
const exp = JSON.parse(readFileSync(file, "utf8"));
let prev = "0".repeat(64);
exp.entries.forEach((e, i) => {
  if (e.seq !== i + 1) bad(`entry ${i + 1} has seq ${e.seq}`);
  if (e.canon !== "rfc8785") bad(`seq ${e.seq}: form ${e.canon} is not RFC 8785`);
  if (e.prev_hash !== prev) bad(`seq ${e.seq}: prev_hash does not link`);
  const body = { seq: e.seq, time: e.time, actor: e.actor, action: e.action, subject: e.subject, details: e.details };
  const digest = createHash("sha256").update(prev + jcs(body), "utf8").digest("hex");
  if (digest !== e.hash) bad(`seq ${e.seq}: hash does not match its content`);
  prev = e.hash;
});
const n = exp.entries.length;
if (n !== exp.count) bad(`the export says ${exp.count} entries and holds ${n}: cut`);
if (prev !== exp.head.hash || exp.head.seq !== n) bad("the last entry is not the head the export names: cut");
let key = null;
if (publicKeyText) {
  const raw = Buffer.from(publicKeyText.trim().replace(/^ed25519:/, ""), "base64");
  key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
}
for (const c of exp.checkpoints) {
  const { sig, ...signed } = c;
  if (key && !verify(null, Buffer.from(jcs(signed), "utf8"), key, Buffer.from(sig, "base64")))
    bad(`checkpoint at seq ${c.seq}: signature does not verify`);
  if (c.log !== exp.log_id) bad(`checkpoint at seq ${c.seq} is for another log`);
  if (c.seq > n || exp.entries[c.seq - 1].hash !== c.hash) bad(`checkpoint at seq ${c.seq}: not on this chain`);
}
console.log(`OK: ${n} entries, ${exp.checkpoints.length} checkpoints`);
