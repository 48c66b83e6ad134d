package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// KeyFile is the default name of a node's key file, in its data dir.
const KeyFile = "node.key"

// Keys are a node's secret keys, made by GenerateKeys from the OS's random
// source and kept in a key file only the node's user can read (WriteKeys,
// LoadKeys). Nothing else derives them: the network file holds only their
// public halves (Member), so a copy of it gives no one a key. The
// network's seed still drives what it always drove in the simulator (each
// node's random stream, the federated job's data split) and nothing else.
type Keys struct {
	// Peer is the libp2p identity: its peer ID is how the others' address
	// books know the node, and what the transport authenticates.
	Peer crypto.PrivKey
	// Validator signs the node's proposals and votes.
	Validator ed25519.PrivateKey
	// Account controls the node's account on the chain (its
	// transactions) and signs its service messages (market, learning).
	Account ed25519.PrivateKey
}

// PublicKeys are the public halves of a node's Keys, as a Member lists
// them.
type PublicKeys struct {
	PeerID       string `json:"peer_id"`
	ValidatorKey string `json:"validator_key"`
	AccountKey   string `json:"account_key"`
}

// keyFile is the file's layout: the libp2p key as libp2p marshals it
// (base64), the ed25519 keys as their 32-byte seeds (hex).
type keyFile struct {
	Peer      string `json:"peer_key"`
	Validator string `json:"validator_key"`
	Account   string `json:"account_key"`
}

// GenerateKeys makes a node's keys from crypto/rand.
func GenerateKeys() (*Keys, error) {
	pk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("node: generating a libp2p key: %w", err)
	}
	_, vk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("node: generating a validator key: %w", err)
	}
	_, ak, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("node: generating an account key: %w", err)
	}
	return &Keys{Peer: pk, Validator: vk, Account: ak}, nil
}

// Public returns the keys' public halves.
func (k *Keys) Public() (PublicKeys, error) {
	pid, err := peer.IDFromPrivateKey(k.Peer)
	if err != nil {
		return PublicKeys{}, fmt.Errorf("node: the peer ID of a key: %w", err)
	}
	return PublicKeys{PeerID: pid.String(),
		ValidatorKey: hex.EncodeToString(k.Validator.Public().(ed25519.PublicKey)),
		AccountKey:   hex.EncodeToString(k.Account.Public().(ed25519.PublicKey))}, nil
}

// WriteKeys writes k to a new file at path, readable by its owner only
// (0600). It refuses to replace a file that exists: a node's keys are its
// identity, and losing them loses its account.
func WriteKeys(path string, k *Keys) error {
	raw, err := crypto.MarshalPrivateKey(k.Peer)
	if err != nil {
		return fmt.Errorf("node: marshalling a libp2p key: %w", err)
	}
	b, err := json.MarshalIndent(keyFile{Peer: base64.StdEncoding.EncodeToString(raw),
		Validator: hex.EncodeToString(k.Validator.Seed()), Account: hex.EncodeToString(k.Account.Seed())}, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("node: writing the key file: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("node: writing the key file %s: %w", path, err)
	}
	return nil
}

// LoadKeys reads a key file WriteKeys wrote. A file others may read or
// write is refused (as ssh refuses such a private key): its keys may be
// known. Problems are ErrConfig.
func LoadKeys(path string) (*Keys, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no key file %s (dais node keygen -o %s makes one)", ErrConfig, path, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: key file %s has mode %04o: others may read it (chmod 600 %s)", ErrConfig, path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, fmt.Errorf("%w: key file %s: %w", ErrConfig, path, err)
	}
	bad := func(key string, err error) error {
		return fmt.Errorf("%w: key file %s: %s: %w", ErrConfig, path, key, err)
	}
	raw, err := base64.StdEncoding.DecodeString(kf.Peer)
	if err != nil {
		return nil, bad("peer_key", err)
	}
	pk, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return nil, bad("peer_key", err)
	}
	vk, err := seedKey(kf.Validator)
	if err != nil {
		return nil, bad("validator_key", err)
	}
	ak, err := seedKey(kf.Account)
	if err != nil {
		return nil, bad("account_key", err)
	}
	return &Keys{Peer: pk, Validator: vk, Account: ak}, nil
}

func seedKey(s string) (ed25519.PrivateKey, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("%d bytes, want a %d-byte ed25519 seed", len(b), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(b), nil
}

// publicKey parses a hex ed25519 public key of a member.
func publicKey(s string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%d bytes, want a %d-byte ed25519 public key", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}
