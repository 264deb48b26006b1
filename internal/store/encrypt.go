package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// encPrefix marks an encrypted value, as Kubernetes' encryption at rest does:
// k8s:enc:<provider>:v1:<key name>:<nonce><sealed>.
const encPrefix = "k8s:enc:aesgcm:v1:"

// Encrypter seals the values of keys under chosen prefixes with AES-GCM.
// The key's path is the additional data, so a value copied to another key
// does not decrypt.
type Encrypter struct {
	name     string
	aead     cipher.AEAD
	prefixes []string
}

// NewEncrypter returns an Encrypter with a 32-byte key that encrypts values
// whose keys start with any of prefixes.
func NewEncrypter(name string, key []byte, prefixes ...string) (*Encrypter, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("store: encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("store: encryption key: %w", err)
	}
	return &Encrypter{name: name, aead: aead, prefixes: prefixes}, nil
}

// LoadOrCreateKey reads a base64 AES-256 key from path, creating it (mode
// 0600) with a random key on first use.
func LoadOrCreateKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("store: encryption key %s: not 32 bytes of base64", path)
		}
		return key, nil
	}
	if !os.IsNotExist(err) {
		return nil, fmt.Errorf("store: encryption key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("store: encryption key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: encryption key: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString(key) + "\n"
	if err := os.WriteFile(path, []byte(enc), 0o600); err != nil {
		return nil, fmt.Errorf("store: encryption key: %w", err)
	}
	return key, nil
}

func (e *Encrypter) covers(key string) bool {
	for _, p := range e.prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

func (e *Encrypter) encrypt(key string, value []byte) ([]byte, error) {
	if e == nil || !e.covers(key) {
		return value, nil
	}
	head := encPrefix + e.name + ":"
	nonce := make([]byte, e.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("store: encrypt: %w", err)
	}
	out := make([]byte, 0, len(head)+len(nonce)+len(value)+e.aead.Overhead())
	out = append(out, head...)
	out = append(out, nonce...)
	return e.aead.Seal(out, nonce, value, []byte(key)), nil
}

func (e *Encrypter) decrypt(key string, value []byte) ([]byte, error) {
	if !bytes.HasPrefix(value, []byte(encPrefix)) {
		return value, nil
	}
	if e == nil {
		return nil, fmt.Errorf("%w: %s: no encryption key configured", ErrDecrypt, key)
	}
	rest := value[len(encPrefix):]
	i := bytes.IndexByte(rest, ':')
	if i < 0 || string(rest[:i]) != e.name {
		return nil, fmt.Errorf("%w: %s: unknown key name", ErrDecrypt, key)
	}
	rest = rest[i+1:]
	n := e.aead.NonceSize()
	if len(rest) < n {
		return nil, fmt.Errorf("%w: %s: value too short", ErrDecrypt, key)
	}
	plain, err := e.aead.Open(nil, rest[:n], rest[n:], []byte(key))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrDecrypt, key, err)
	}
	return plain, nil
}
