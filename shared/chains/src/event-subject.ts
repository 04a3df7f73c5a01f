/**
 * Chain events travel on `<namespace>.evt.chain.<network>.transfer.<kind>.<key>`. NATS
 * permissions are granted per subject, so a consumer must believe the subject's network, not a
 * `network` field inside the payload that a publisher allowed on another network's subjects could
 * set to anything. Pure.
 */

/** The network token of a chain event subject, or null when the subject is not shaped like one. */
export function networkOfChainSubject(subject: string): string | null {
  const t = subject.split('.');
  // From the end: the namespace may itself contain dots.
  const n = t.length;
  if (n < 6 || t[n - 6] !== 'evt' || t[n - 5] !== 'chain' || t[n - 3] !== 'transfer') return null;
  return t[n - 4] || null;
}

/**
 * Why a chain event must be dropped, or null when it may be applied: its subject names another
 * network than its payload, or the network is not one this service knows.
 */
export function chainEventProblem(subject: string, payloadNetwork: string, knownNetwork: (id: string) => boolean): string | null {
  const subjectNetwork = networkOfChainSubject(subject);
  if (subjectNetwork === null) return `subject ${subject} is not a chain transfer subject`;
  if (subjectNetwork !== payloadNetwork) return `subject network ${subjectNetwork} does not match payload network ${payloadNetwork}`;
  if (!knownNetwork(payloadNetwork)) return `unknown network ${payloadNetwork}`;
  return null;
}
