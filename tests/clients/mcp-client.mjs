// mcp-client.mjs drives an MCP server through the TypeScript SDK's
// Streamable HTTP client, as a real host would, and prints what happened as
// one JSON object on stdout for the Go tests in this directory to check.
//
//   MCP_TOKEN=<bearer token> node mcp-client.mjs <url> '<steps JSON>'
//
// Steps are run in order after connecting:
//   {"op": "listTools"} | {"op": "callTool", "name": ..., "arguments": {...}, "progress": true}
//   {"op": "readResource", "uri": ...} | {"op": "getPrompt", "name": ..., "arguments": {...}}
//   {"op": "setLoggingLevel", "level": ...}
// The client declares sampling and elicitation and answers both with fixed
// content. Output: {server, protocolVersion, sessionId, results[],
// notifications[], http[], error}; http lists every response's method,
// status and WWW-Authenticate header. The token never appears in the output.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

const [url, stepsJSON = '[]'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node mcp-client.mjs <url> [steps JSON]');
  process.exit(2);
}
const steps = JSON.parse(stepsJSON);
const out = { results: [], notifications: [], http: [] };

async function recordingFetch(input, init) {
  const res = await fetch(input, init);
  out.http.push({
    method: init?.method ?? 'GET',
    status: res.status,
    wwwAuthenticate: res.headers.get('www-authenticate') ?? undefined,
  });
  return res;
}

const headers = process.env.MCP_TOKEN ? { Authorization: `Bearer ${process.env.MCP_TOKEN}` } : {};
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers },
  fetch: recordingFetch,
});
const client = new Client(
  { name: 'mcpfleet-client-test', version: '1.0.0' },
  { capabilities: { sampling: {}, elicitation: {} } },
);
client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
  role: 'assistant',
  model: 'test-model',
  content: { type: 'text', text: `echo: ${req.params.messages[0].content.text}` },
}));
client.setRequestHandler(ElicitRequestSchema, async () => ({
  action: 'accept',
  content: { username: 'ada', email: 'ada@example.com' },
}));
client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
  out.notifications.push({ method: n.method, data: n.params.data });
});

const ops = {
  listTools: () => client.listTools(),
  callTool: (s) =>
    client.callTool({ name: s.name, arguments: s.arguments ?? {} }, undefined, {
      onprogress: s.progress ? (p) => out.notifications.push({ method: 'notifications/progress', progress: p.progress }) : undefined,
    }),
  readResource: (s) => client.readResource({ uri: s.uri }),
  getPrompt: (s) => client.getPrompt({ name: s.name, arguments: s.arguments ?? {} }),
  setLoggingLevel: (s) => client.setLoggingLevel(s.level),
};

try {
  await client.connect(transport);
  out.server = client.getServerVersion();
  out.protocolVersion = transport.protocolVersion;
  out.sessionId = transport.sessionId;
  for (const step of steps) {
    const op = ops[step.op];
    if (!op) throw new Error(`unknown step ${step.op}`);
    try {
      out.results.push(await op(step));
    } catch (e) {
      out.results.push({ error: { message: e.message, code: e.code } });
    }
  }
  await transport.terminateSession();
  await client.close();
} catch (e) {
  out.error = { name: e.name, message: e.message, code: e.code };
}
console.log(JSON.stringify(out));
