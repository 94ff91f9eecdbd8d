// A follower of a model split over workers (./shards.js): it loads its shard's file from the
// bytes the leader routes to it, then joins every evaluation the leader starts, gathering with
// the other shards over their channels and posting its logit rows back. Messages are handled
// one at a time, in order.

import { ErrorCode, Gguf64Error } from './errors.js';
import { LoadedModel, SHARD } from './index.js';
import { runtimeFor } from './runtime.js';
import { createStorage } from './storage.js';
import { writeChunk } from './stream.js';
import { Inbox, SharedGather, evaluateShard } from './shards.js';
import { serveStarter } from './spawn.js';
import { errorToWire } from './wire.js';

const state = { runtime: null, peers: [], transport: null, loader: null, storage: null, model: null, startMs: 0 };
let queue = Promise.resolve();

self.onmessageerror = () => {
  post({ op: 'error', error: errorToWire(new Gguf64Error(ErrorCode.INTERNAL, 'a message from the leader could not be read')) });
};
// The leader's messages: to `self`, or over a port when the page started this worker (./spawn.js).
const post = serveStarter((data) => {
  queue = queue.then(() => handle(data)).catch((err) => {
    post({ op: 'error', error: errorToWire(err) });
  });
});

async function handle(message) {
  switch (message.op) {
    case 'init': {
      if (message.stall) await new Promise(() => {}); // a test hook (shardHooks): never start
      state.runtime = await runtimeFor(message.build, message.simd); // the leader's variant: the same arithmetic
      state.peers = message.peers.sort((a, b) => a.index - b.index).map(({ port }) => new Inbox(port));
      state.transport = message.shared ? new SharedGather(message.shared) : state.peers;
      post({ op: 'ready' });
      return;
    }
    case 'load': {
      state.startMs = performance.now();
      state.loader = new state.runtime.bindings.StreamLoader(message.fileLen, message.plan);
      return;
    }
    case 'bytes': {
      const { memory, build } = state.runtime;
      const storageFor = (index) => {
        state.storage ??= createStorage(JSON.parse(state.loader.layout()), build);
        return state.storage[index];
      };
      writeChunk(state.loader, memory, storageFor, message.chunk);
      post({ op: 'ack', bytes: message.chunk.length });
      return;
    }
    case 'finish': {
      const loader = state.loader;
      state.loader = null;
      const handle = loader.finish();
      state.model = new LoadedModel(handle, state.runtime, performance.now() - state.startMs, state.storage, { bytesFromCache: 0 });
      post({ op: 'loaded', info: state.model.info });
      return;
    }
    case 'eval': {
      const { memory } = state.runtime;
      const h = state.model[SHARD]();
      await evaluateShard(h, memory, message.keep, Uint32Array.from(message.ids), state.transport);
      const [start, end] = h.shard().vocab;
      const { address, length } = h.logitsInfo();
      const data = new Float32Array(memory.buffer, address, length).slice(start, end);
      post({ op: 'logits', start, data }, [data.buffer]);
      return;
    }
    case 'contextLength': {
      state.model[SHARD]().setContextLength(message.n);
      return;
    }
    default:
      throw new Error(`unknown shard message ${message.op}`);
  }
}
