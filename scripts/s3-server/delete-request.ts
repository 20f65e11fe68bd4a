/**
 * The body of a DeleteObjects request (`<Delete><Quiet>true</Quiet><Object><Key>k</Key></Object>...</Delete>`)
 * read by one forward scan with indexOf: every search starts where the last one ended, so the time is linear
 * in the body's length whatever it holds. The regular expression it replaces backtracked over unclosed
 * `<Object>` elements, and a signed 8 KB body held the server for 16.8 s.
 * Only what S3's schema puts there is read: each Object's Key, and Quiet; anything else is ignored, as S3 does.
 */

export interface DeleteRequest {
  keys: string[];
  quiet: boolean;
}

/** Why a body is not a delete request: answered 400 MalformedXML. */
export class MalformedDeleteRequest extends Error {}

/** XML's five named entities and character references; a reference to no character is malformed. */
export function unescapeXml(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|apos|#x[0-9a-fA-F]{1,6}|#[0-9]{1,7});/g, (_, entity: string) => {
    if (entity.startsWith('#')) {
      const code = entity.startsWith('#x') ? Number.parseInt(entity.slice(2), 16) : Number.parseInt(entity.slice(1), 10);
      if (code > 0x10ffff) throw new MalformedDeleteRequest('a character reference beyond Unicode');
      return String.fromCodePoint(code);
    }
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity] as string;
  });
}

/** The text between `<name>` and the next `</name>` from `from`, and where it ends; undefined when there is no `<name>`. */
function element(text: string, name: string, from: number, until: number): { value: string; end: number } | undefined {
  const open = text.indexOf(`<${name}>`, from);
  if (open < 0 || open >= until) return undefined;
  const start = open + name.length + 2;
  const close = text.indexOf(`</${name}>`, start);
  if (close < 0 || close > until) throw new MalformedDeleteRequest(`<${name}> is not closed`);
  return { value: text.slice(start, close), end: close + name.length + 3 };
}

export function parseDeleteRequest(text: string, maxKeys: number): DeleteRequest {
  const root = /<Delete[\s>]/.exec(text);
  if (!root) throw new MalformedDeleteRequest('no <Delete> element');
  const end = text.lastIndexOf('</Delete>');
  if (end < root.index) throw new MalformedDeleteRequest('<Delete> is not closed');
  const quiet = element(text, 'Quiet', root.index, end)?.value.trim() === 'true';
  const keys: string[] = [];
  for (let at = root.index; ; ) {
    const object = element(text, 'Object', at, end);
    if (object === undefined) break;
    const key = element(object.value, 'Key', 0, object.value.length);
    if (key === undefined) throw new MalformedDeleteRequest('an <Object> without a <Key>');
    keys.push(unescapeXml(key.value));
    if (keys.length > maxKeys) throw new MalformedDeleteRequest(`more than ${maxKeys} objects`);
    at = object.end;
  }
  return { keys, quiet };
}
