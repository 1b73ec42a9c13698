/**
 * What a file is, read from its first bytes (magic numbers), never from the name or the type the
 * client declared; images also give their pixel size, read from their headers.
 */
export interface Sniffed {
  contentType: string;
  width: number | null;
  height: number | null;
}

const startsWith = (bytes: Uint8Array, magic: number[], at = 0) => magic.every((byte, i) => bytes[at + i] === byte);
const ascii = (bytes: Uint8Array, text: string, at = 0) => startsWith(bytes, [...text].map((c) => c.charCodeAt(0)), at);

export function sniff(bytes: Buffer): Sniffed {
  const image = (contentType: string, size: { width: number; height: number } | null): Sniffed => ({
    contentType,
    width: size?.width ?? null,
    height: size?.height ?? null,
  });
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    return image('image/png', bytes.length >= 24 ? { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) } : null);
  }
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return image('image/jpeg', jpegSize(bytes));
  if (ascii(bytes, 'GIF87a') || ascii(bytes, 'GIF89a')) {
    return image('image/gif', bytes.length >= 10 ? { width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) } : null);
  }
  if (ascii(bytes, 'RIFF') && ascii(bytes, 'WEBP', 8)) return image('image/webp', webpSize(bytes));
  if (ascii(bytes, '%PDF-')) return { contentType: 'application/pdf', width: null, height: null };
  if (isText(bytes)) return { contentType: 'text/plain', width: null, height: null };
  return { contentType: 'application/octet-stream', width: null, height: null };
}

/** The size in the first start-of-frame segment (SOF0–SOF15 but DHT, JPG and DAC). */
function jpegSize(bytes: Buffer): { width: number; height: number } | null {
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    }
    at += 2 + bytes.readUInt16BE(at + 2);
  }
  return null;
}

function webpSize(bytes: Buffer): { width: number; height: number } | null {
  if (bytes.length < 30) return null;
  if (ascii(bytes, 'VP8 ', 12)) return { width: bytes.readUInt16LE(26) & 0x3fff, height: bytes.readUInt16LE(28) & 0x3fff };
  if (ascii(bytes, 'VP8L', 12)) {
    const bits = bytes.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (ascii(bytes, 'VP8X', 12)) return { width: bytes.readUIntLE(24, 3) + 1, height: bytes.readUIntLE(27, 3) + 1 };
  return null;
}

/** UTF-8 without NUL or other control characters than tab, line feed, carriage return and form feed. */
function isText(bytes: Buffer): boolean {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return !/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text);
  } catch {
    return false;
  }
}
