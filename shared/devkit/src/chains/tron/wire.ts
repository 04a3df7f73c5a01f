// Encodings of java-tron's HTTP API (`visible: false`) that the fake node's answers share.

/** java-tron hex-encodes the text of error messages. */
export const hexMessage = (text: string) => Buffer.from(text, 'utf8').toString('hex');
/** One ABI word: left-padded to 32 bytes of hex. */
export const word = (hex: string) => hex.padStart(64, '0');
export const ZERO32 = '0'.repeat(64);
