import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { AppError } from '../../errors.js';
import type { VoucherClaims } from '../../protocol/offers.js';
import type { Db } from '../../storage/db.js';

const KEY_NAME = 'voucher';
const ALG = 'EdDSA';
type Key = Awaited<ReturnType<typeof importJWK>>;

/**
 * The server's Ed25519 voucher-signing key: made on first start and kept in the database, so every
 * node sharing it signs with the same key and vouchers outlive restarts. The first node to insert
 * wins; the others read its key back.
 */
export class VoucherKey {
  private constructor(
    private readonly privateKey: Key,
    private readonly publicKey: Key,
    readonly publicJwk: JWK,
  ) {}

  static async load(db: Db, now: number): Promise<VoucherKey> {
    let row = await db.selectFrom('server_keys').selectAll().where('name', '=', KEY_NAME).executeTakeFirst();
    if (!row) {
      const pair = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
      const [priv, pub] = await Promise.all([exportJWK(pair.privateKey), exportJWK(pair.publicKey)]);
      await db
        .insertInto('server_keys')
        .values({ name: KEY_NAME, private_jwk: JSON.stringify(priv), public_jwk: JSON.stringify({ ...pub, alg: ALG, use: 'sig' }), created_at: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      row = await db.selectFrom('server_keys').selectAll().where('name', '=', KEY_NAME).executeTakeFirstOrThrow();
    }
    const publicJwk = JSON.parse(row.public_jwk) as JWK;
    return new VoucherKey(await importJWK(JSON.parse(row.private_jwk) as JWK, ALG), await importJWK(publicJwk, ALG), publicJwk);
  }

  sign(claims: Omit<VoucherClaims, 'iat'>, now: number): Promise<string> {
    const { jti, sub, exp, ...rest } = claims;
    return new SignJWT({ ...rest })
      .setProtectedHeader({ alg: ALG, typ: 'parley-voucher+jwt' })
      .setJti(jti)
      .setSubject(sub)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(exp)
      .sign(this.privateKey);
  }

  /** The claims of a token this key signed; anything else (forged, altered, malformed) is VOUCHER_INVALID. Expiry is the caller's check, against its clock. */
  async verify(token: string): Promise<VoucherClaims> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, { algorithms: [ALG], typ: 'parley-voucher+jwt', currentDate: new Date(0) });
      return payload as unknown as VoucherClaims;
    } catch {
      throw new AppError('VOUCHER_INVALID');
    }
  }
}
