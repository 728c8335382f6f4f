package tokenizer

import (
	"hash/maphash"
	"strings"
	"sync"
)

// maxCachedWord is the longest word (in bytes) kept in a wordCache.
const maxCachedWord = 64

// wordCache remembers the ids of recently seen words. It is sharded to
// keep lock contention low and bounded in size: a full shard is cleared.
type wordCache struct {
	seed   maphash.Seed
	shards [64]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]int32
}

const cacheShardSize = 4096

func newWordCache() *wordCache {
	return &wordCache{seed: maphash.MakeSeed()}
}

func (c *wordCache) shard(w string) *cacheShard {
	return &c.shards[maphash.String(c.seed, w)%uint64(len(c.shards))]
}

func (c *wordCache) get(w string) ([]int32, bool) {
	s := c.shard(w)
	s.mu.RLock()
	ids, ok := s.m[w]
	s.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(w string, ids []int32) {
	s := c.shard(w)
	s.mu.Lock()
	if s.m == nil || len(s.m) >= cacheShardSize {
		s.m = make(map[string][]int32, 64)
	}
	s.m[strings.Clone(w)] = ids
	s.mu.Unlock()
}
