// discover.mjs runs the TypeScript SDK's OAuth discovery against an MCP
// server, as a host does after a 401: it reads the resource metadata URL from
// the WWW-Authenticate challenge, fetches the RFC 9728 protected resource
// metadata and then the authorization server's metadata. It prints one JSON
// object on stdout for the Go tests.
//
//   node discover.mjs <url>
import {
  discoverOAuthServerInfo,
  extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node discover.mjs <url>');
  process.exit(2);
}
const out = {};
try {
  // An unauthenticated initialize, as a host's first request.
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'discover', version: '1.0.0' } },
    }),
  });
  out.status = res.status;
  const challenge = extractWWWAuthenticateParams(res);
  out.challenge = { resourceMetadataUrl: challenge.resourceMetadataUrl?.href, scope: challenge.scope, error: challenge.error };
  const info = await discoverOAuthServerInfo(url, { resourceMetadataUrl: challenge.resourceMetadataUrl });
  out.authorizationServerUrl = info.authorizationServerUrl;
  out.resourceMetadata = info.resourceMetadata;
  out.authorizationServerIssuer = info.authorizationServerMetadata?.issuer;
} catch (e) {
  out.error = { name: e.name, message: e.message };
}
console.log(JSON.stringify(out));
