// Package secagg is secure aggregation for federated learning (Bonawitz
// et al., "Practical Secure Aggregation for Privacy-Preserving Machine
// Learning", CCS 2017, the semi-honest protocol of §4): n clients send a
// coordinator masked vectors in Z_2⁶⁴ from which it learns their sum and
// nothing else, even when up to n − t of them drop out after sharing.
//
// Each client u masks its input x_u as
//
//	y_u = x_u + PRG(b_u) + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv)
//
// where s_uv is the X25519 agreement of u's and v's mask keys (so the
// pairwise masks cancel in the sum) and b_u a self mask seed. Both u's
// mask key seed and b_u are Shamir-shared (threshold t, over GF(2⁶¹−1))
// among the clients, each share sealed to its holder with
// ChaCha20-Poly1305 under a second agreed key, so that the coordinator
// relays shares it cannot read. To unmask, every survivor sends its share
// of each survivor's b (the coordinator removes the self masks) and of
// each dropped client's mask key seed (it rebuilds that key and removes
// the pairwise masks the survivors shared with it) — never both for one
// client.
//
// A round, driven by whoever holds the messages:
//
//	client: c, keys := NewClient(cfg, entropy)           ─Keys─▶      server.AddKeys;  CloseKeys  ─KeyList─▶
//	client: shares := c.Share(list, entropy)             ─Shares─▶    server.AddShares; CloseShares ─SharesFor─▶ (one per client)
//	client: c.Receive(sharesFor); y := c.Mask(x)         ─Masked─▶    server.AddMasked; CloseMasked ─Survivors─▶
//	client: u := c.Unmask(survivors)                     ─Unmask─▶    server.AddUnmask; sum := server.Sum()
//
// Randomness is passed in (an io.Reader: a seeded StreamReader in the
// simulator, crypto/rand live); nothing here reads the OS or the clock.
// Inputs are fixed point (Encode, Decode): a sum is exact in the ring and
// decodes to the sum of the rounded inputs. Work counts each party's
// operations so that a simulator can charge their time (Cost).
//
// What it does not do: the active-adversary version's consistency round
// and signatures (a malicious coordinator could lie about who dropped to
// some clients; MinThreshold > n/2 keeps two disjoint groups from each
// rebuilding a seed), and anything against malicious clients: a client
// can send any vector, so robust rules (Krum, median, FoolsGold) that
// must see individual updates are incompatible with it.
package secagg
