// http-api, the Node.js part: a tiny notes API on ANY /notes/{proxy+} and /notes.
//   POST /notes        body {"text": "..."}  -> 201 {"id": N, "text": "..."}
//   GET  /notes        -> 200 [{"id": N, "text": "..."}, ...]
//   GET  /notes/N      -> 200 {"id": N, ...} or 404
// Notes live in the instance's memory: they survive while it stays warm and are
// gone with it (a real API would keep them in a database).
const notes = new Map();
let next = 1;

const reply = (statusCode, value) => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});

export const handler = async (event) => {
  const method = event.requestContext.http.method;
  const id = event.pathParameters?.proxy;
  if (method === 'POST' && !id) {
    let text;
    try {
      const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString() : event.body;
      text = JSON.parse(raw ?? '{}').text;
    } catch {
      return reply(400, { error: 'the body must be JSON: {"text": "..."}' });
    }
    if (typeof text !== 'string') return reply(400, { error: '"text" must be a string' });
    const note = { id: next++, text };
    notes.set(note.id, note);
    return reply(201, note);
  }
  if (method === 'GET' && !id) return reply(200, [...notes.values()]);
  if (method === 'GET' && notes.has(Number(id))) return reply(200, notes.get(Number(id)));
  return reply(404, { error: `no note '${id ?? ''}'` });
};
