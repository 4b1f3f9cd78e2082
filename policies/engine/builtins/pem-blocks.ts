// PEM blocks as Go's encoding/pem decodes them, for the x509 builtins that follow OPA's reading of
// certificates and certificate requests: a block starts at the beginning of the text or of a line,
// "Key: value" header lines are not body, and a block whose body is not base64 is skipped (Go's
// pem.Decode then goes on scanning the rest).

export interface PemBlock {
  readonly type: string;
  readonly der: Buffer;
}

const BLOCK = /(?:^|\n)-----BEGIN ([^\r\n]*?)-----\r?\n([\s\S]*?)-----END \1-----/g;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The decodable blocks of the text, in order. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const [, type, body] of text.matchAll(BLOCK)) {
    const base64 = body!
      .split('\n')
      .filter((line) => !line.includes(':'))
      .join('')
      .replace(/\s+/g, '');
    if (BASE64.test(base64)) blocks.push({ type: type!, der: Buffer.from(base64, 'base64') });
  }
  return blocks;
}
