// Replicates an LDES with the real ldes-client and prints one JSON line per member it emits:
// {"id", "isVersionOf", "type", "timestamp"}. Used by tests/test_feed.py.
// usage: node replicate.mjs URL [AFTER_ISO_DATETIME]
import { replicateLDES, intoConfig } from "ldes-client";

const [url, after] = process.argv.slice(2);
const client = replicateLDES(intoConfig({
  url,
  ...(after ? { after: new Date(after) } : {}),
  noShape: true,
}));
const reader = client.stream({ highWaterMark: 10 }).getReader();
for (;;) {
  const { value, done } = await reader.read();
  if (done) break;
  console.log(JSON.stringify({
    id: value.id.value,
    isVersionOf: value.isVersionOf ?? null,
    type: value.type ? value.type.value : null,
    timestamp: value.timestamp instanceof Date ? value.timestamp.toISOString() : (value.timestamp ?? null),
    quads: value.quads.length,
  }));
}
