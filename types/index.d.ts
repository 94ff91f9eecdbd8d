// Type declarations of gguf64's public API (written by hand; the wasm-bindgen output under pkg/
// describes the raw wasm bindings, not this API).

/**
 * Codes a Gguf64Error can carry. Stable: programs may branch on them. The same set as Rust's
 * `ErrorCode` and the JS `ErrorCode` (checked by tests/error_codes.rs).
 */
export type ErrorCodeName =
  | 'GGUF_INVALID' // the file is not GGUF, or its header is malformed/hostile (`offset`, `reason`)
  | 'HEADER_TOO_LARGE' // the header is still incomplete after the parser's limit
  | 'TRUNCATED' // the body ended before the bytes the header announces
  | 'TRAILING_BYTES' // the body is longer than the header announces
  | 'LENGTH_MISMATCH' // Content-Length disagrees with the header
  | 'OUT_OF_MEMORY'
  | 'HTTP_STATUS' // the server answered with a non-2xx status (`status`)
  | 'NETWORK' // fetch failed, or the connection dropped and resuming failed
  | 'READ_FAILED' // reading a local File/Blob failed
  | 'SOURCE_CHANGED' // the file changed (ETag / Last-Modified) while loading
  | 'DOES_NOT_FIT' // the model does not fit the memory limits
  | 'INTEGRITY' // the file's SHA-256 is not the one given
  | 'SPLIT_INVALID' // the files are not the parts of one split model, in order
  | 'ABORTED' // the caller's AbortSignal fired
  | 'UNSUPPORTED_BROWSER'
  | 'MODEL_UNSUPPORTED' // an architecture, tensor type or shape gguf64 does not run
  | 'TOKENIZER_INVALID' // the tokenizer metadata is missing or malformed
  | 'CHAT_TEMPLATE' // the model has no chat template gguf64 knows, or the roles break it
  | 'CONTEXT_FULL' // the prompt does not fit the context length
  | 'PAGE_FAILED' // a layer could not be copied in from its storage memory
  | 'UNLOADED' // the model was unloaded: none of its methods can run any more
  | 'INVALID_ARGUMENT' // an argument of the wrong kind or out of range
  | 'INTERNAL'; // a bug in gguf64

/** Every code, by name: `ErrorCode.ABORTED === 'ABORTED'`. */
export declare const ErrorCode: Readonly<{ [K in ErrorCodeName]: K }>;

/** The one error class of gguf64: branch on `code`, not on `message`. */
export declare class Gguf64Error extends Error {
  constructor(code: ErrorCodeName, message: string, details?: Record<string, unknown>);
  readonly name: 'Gguf64Error';
  code: ErrorCodeName;
  /** The URL being loaded, when there is one. */
  url?: string;
  /** The byte offset of the file the problem is at (GGUF_INVALID, TRUNCATED, TRAILING_BYTES, …). */
  offset?: number;
  /** For GGUF_INVALID: the parser's precise reason, e.g. `"TensorOutOfBounds"`. */
  reason?: string;
  /** For HTTP_STATUS: the server's status code. */
  status?: number;
  [field: string]: unknown;
}

/** What this browser's WebAssembly can do. */
export interface Features {
  memory64: boolean;
  multiMemory: boolean;
  simd: boolean;
  /** Relaxed SIMD (e.g. `i16x8.relaxed_dot_i8x16_i7x16_s`). */
  relaxedSimd: boolean;
}

export type BuildName = 'wasm64' | 'wasm32';
/** The SIMD variant of a build: compiled with relaxed SIMD too ('relaxed'), or with SIMD128 alone. */
export type SimdName = 'relaxed' | 'simd128';
/**
 * 'disk' keeps the layers in one file of the origin private file system and reads each into a
 * slot of the main memory as it is used (workingSetLayers slots, 2 by default): any size, on one
 * thread, in a worker only. 'auto' takes it when the model and its working room exceed `memoryLimit`.
 */
export type LayoutName = 'auto' | 'standard' | 'memory64' | 'paged' | 'multi' | 'disk';

/**
 * One storage area of a layout: index 0 is the module's own (main) memory, 1.. storage memories,
 * or the disk tier's file.
 */
export interface MemoryInfo {
  index: number;
  bytes: number;
  /** Where its bytes live: the module's own memory, a storage memory, or the disk tier's file. */
  tier: 'main' | 'memory' | 'disk';
  /** The layers whose home is this memory. */
  layers: number[];
  /** The other groups it holds. */
  holds: Array<'embeddings' | 'output'>;
}

/** The MemoryPlan: where every group of the model lives. */
export interface Layout {
  kind: 'standard' | 'memory64' | 'paged' | 'multi' | 'disk' | string;
  modelBytes: number;
  memories: MemoryInfo[];
  /** For a paged layout: how many layer slots the main memory has; otherwise null. */
  workingSetLayers: number | null;
  /** The memory limit the plan was made under (LoadOptions.memoryLimit), or null. */
  memoryLimit: number | null;
}

/** What a loaded model is. */
export interface ModelInfo {
  build: BuildName;
  /** The SIMD variant of the build that runs the model. */
  simd: SimdName;
  arch: string | null;
  name: string | null;
  nLayers: number | null;
  nTensors: number;
  fileBytes: number;
  dataOffset: number;
  dataBytes: number;
  ggufVersion: number;
  alignment: number;
  /** Number of files (a split model has several). */
  parts: number;
  layout: Layout;
  /** Which chat template `generate({ chat })`, messages and `applyChatTemplate` use. */
  chatTemplate: ChatTemplateInfo;
  loadMs: number;
  cache: { bytesFromCache: number };
  /** How many threads run the model, and how they talk. */
  parallel: ParallelInfo;
  /** Split over threads: the bytes of this thread's shard file (`fileBytes` is the whole file's). */
  shardBytes?: number;
}

/** A model split over worker threads (tensor parallel), or not. */
export interface ParallelInfo {
  /** Threads the model runs on (1: not split). */
  threads: number;
  /** Threads asked for ('auto' resolved); more than `threads` when the model's heads do not divide. */
  requested: number;
  /** How the shards swap their slices of each layer's results: null on one thread. */
  transport: 'message-channel' | 'shared-memory' | null;
  crossOriginIsolated: boolean;
  /** Thread 0's slice: heads, feed-forward and embedding rows, vocabulary rows (ranges [start, end)). */
  shards?: Array<{ index: number; count: number; qHeads: [number, number]; kvHeads: [number, number]; ff: [number, number]; embd: [number, number]; vocab: [number, number] }>;
}

/** Where a model's chat prompts come from (a `template` passed to a call replaces it there). */
export interface ChatTemplateInfo {
  /**
   * 'file': the file's own `tokenizer.chat_template`; 'builtin': the file has none and a built-in
   * format is used; 'none': the file has no tokenizer, so no chat.
   */
  source: 'file' | 'builtin' | 'none';
  /** 'jinja' (the file's template), 'chatml' or 'gemma' (built in, Gemma for a Gemma file); null with 'none' or an `error`. */
  format: 'jinja' | 'chatml' | 'gemma' | null;
  /** Why chat prompts will fail with CHAT_TEMPLATE (the file's template does not parse, …); null when usable. */
  error: string | null;
}

/** A group of tensors that landed in memory. */
export interface LoadedGroup {
  kind: 'embeddings' | 'layer' | 'output';
  layer: number | null;
  bytes: number;
  memory: number;
  offset: number;
  tensors: number;
}

/** A progress event of `loadModel`. */
export interface LoadProgress {
  /**
   * 'header' while the header streams; 'data' after each chunk of weights; 'group' when a group
   * landed (`group`, `layer`); 'resume' when a dropped connection is resumed (`offset`,
   * `attempt`); 'warning' for a cache problem the load survives (`code`, `message`); 'done'.
   */
  phase: 'header' | 'data' | 'group' | 'resume' | 'warning' | 'done';
  /** The plan, once the header is parsed. */
  layout: Layout | undefined;
  group?: LoadedGroup;
  /** The layer that just landed ('group' events), else null. */
  layer: number | null;
  layersDone: number;
  layersTotal: number | null;
  bytesLoaded: number;
  bytesTotal: number | null;
  /** Throughput since the start, in 10^6 bytes per second. */
  mbPerSec: number;
  /** 'resume' events. */
  offset?: number;
  attempt?: number;
  /** 'warning' events: CACHE_QUOTA, CACHE_WRITE or CACHE_STALE. */
  code?: 'CACHE_QUOTA' | 'CACHE_WRITE' | 'CACHE_STALE' | string;
  message?: string;
}

export interface LoadOptions {
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
  /** Run in a dedicated Web Worker (default: true on a page's main thread, false elsewhere). */
  worker?: boolean;
  /** 'auto' (default): wasm64 where the browser has memory64, else the wasm32 fallback. */
  build?: 'auto' | BuildName;
  /**
   * 'auto' (default): the build compiled with relaxed SIMD too where the browser validates relaxed
   * SIMD, else the SIMD128 one. 'relaxed' where the browser has no relaxed SIMD is
   * UNSUPPORTED_BROWSER. A thread holds one variant of a build: with `worker: false`, the loads on
   * one thread must get the same variant (another is INVALID_ARGUMENT).
   */
  simd?: 'auto' | SimdName;
  layout?: LayoutName;
  /** Bytes per storage memory. */
  shardCap?: number;
  /** Main-memory bytes for layer weights (the rest in storage memories). */
  memoryBudget?: number;
  /**
   * Bytes the model may hold in memory altogether (every memory's weights, the KV cache and
   * working room). Above it, layout 'auto' keeps the layers on disk (the first ones resident as far
   * as the limit allows), and such a model loads on one thread. A limit below even
   * the disk tier's needs is DOES_NOT_FIT, from the header. Default: `navigator.deviceMemory` where
   * it is below 8 GiB, else none.
   */
  memoryLimit?: number;
  /** At most this many layers in the main memory (the rest paged in from storage memories). */
  workingSetLayers?: number;
  /**
   * Resuming after dropped connections (default 5 attempts, 250 ms doubling); a connection that
   * delivers no byte for `stallMs` (default 30 000) counts as dropped.
   */
  retry?: { attempts?: number; baseDelayMs?: number; stallMs?: number };
  /** Keep the file in the persistent cache (OPFS) and read it from there next time (default true). */
  cache?: boolean;
  /** When a complete cached copy exists: load it first and check the server afterwards ('background', default) or check first ('before'). */
  revalidate?: 'background' | 'before';
  /** The file's SHA-256 in hex (one per part for a split model): INTEGRITY error on a mismatch. */
  sha256?: string | string[];
  /**
   * Worker threads the model is split over (tensor parallel, no cross-origin isolation needed):
   * 'auto' (default in a worker: this machine's cores, at most 4) or a number; 1 runs it on one
   * thread. With `worker: false` only 1 ('auto' means 1 there). One file only, not a split model.
   */
  threads?: number | 'auto';
  /** How the threads swap results: 'auto' (default) takes shared memory on a cross-origin isolated page, else MessageChannels. */
  transport?: 'auto' | 'shared-memory' | 'message-channel';
}

/** A URL, a File/Blob (read in slices), or the URLs of a split model's parts in order. */
export type ModelSource = string | URL | Blob | Array<string | URL>;

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | string;
  content: string;
  /** Anything else the template reads (`tool_calls`, `reasoning_content`, …), JSON-like. */
  [field: string]: unknown;
}

export interface ChatTemplateOptions {
  /** End with the opening of the assistant's turn. Default true. */
  addGenerationPrompt?: boolean;
  /** Jinja source rendered instead of the file's `tokenizer.chat_template`. */
  template?: string;
  /** Tool schemas, for templates that describe tools (`tools` in the template). */
  tools?: unknown[];
}

/**
 * Text, a list of messages or `{ messages }` (formatted with the model's chat template, ready for
 * the assistant's turn; its end-of-turn token ends generation), or token ids.
 */
export type Prompt = string | ChatMessage[] | { messages: ChatMessage[] } | number[] | Uint32Array;

export interface GenerateOptions {
  /** Default 256. */
  maxTokens?: number;
  /** 0 = greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  repeatLastN?: number;
  seed?: number;
  /** Stop when the text contains one of these (not included in the output). */
  stop?: string[];
  /** Go on past end-of-generation tokens. */
  ignoreEos?: boolean;
  /** Text becomes one user message in the model's chat format. */
  chat?: boolean;
  /** Stops after the current token; the iterator then ends with `finish: 'aborted'`. */
  signal?: AbortSignal;
  /**
   * Positions of the KV cache (default 2048, or the model's training context if smaller). The
   * cache is allocated once per length; a length beyond the training context is INVALID_ARGUMENT.
   */
  contextLength?: number;
  /** Reuse the cached prefix of the previous prompt (default true). */
  reuse?: boolean;
}

/** What the last `generate` did. */
export interface GenerationRecord {
  promptIds: number[];
  outputIds: number[];
  text: string;
  finish: 'length' | 'end_of_generation' | 'stop_string' | 'context_full' | 'aborted' | 'error' | null;
  /** Prompt tokens evaluated (fewer than `promptIds` when a prefix was reused). */
  promptTokens: number;
  /** Prompt tokens taken from the KV cache of the previous conversation. */
  reusedTokens: number;
  /** KV caches this model has allocated so far: one per context length used. */
  kvCacheAllocations: number;
  promptMs: number;
  decodeMs: number;
  promptTokS: number;
  decodeTokS: number;
  /** Split over threads: where thread 0's time went, in the prompt and in decoding. */
  threadTimes?: { prompt: ThreadTimes; decode: ThreadTimes | null };
}

/** Thread 0's own work, and its gathers (waiting for the other threads' slices, copying them in). */
export interface ThreadTimes {
  computeMs: number;
  gatherMs: number;
  gathers: number;
}

export interface TokenizeOptions {
  /** Add BOS/EOS as the model's flags say (default true). */
  addSpecial?: boolean;
  /** Turn special-token text such as `<|im_start|>` into its id (default true). */
  parseSpecial?: boolean;
}

export interface PagerStats {
  hits: number;
  misses: number;
  prefetches: number;
  evictions: number;
  bytesPaged: number;
  pageMs: number;
  bridge: 'multi-memory' | 'typed-array' | 'disk' | null;
  /**
   * The disk tier's reads: page-ins timed, how many came from the disk (slower than 2 GB/s), what
   * was asked to be read ahead, whether reading ahead is on, and why there is no reader, if not
   * (a browser that refuses it a second handle on the file).
   */
  disk?: { reads: number; bytes: number; readMs: number; coldReads: number; aheadBytes: number; on: boolean; readerError: string | null };
}

/** Sync or async, as the model kind says. */
type Answer<T, Async extends boolean> = Async extends true ? Promise<T> : T;

/**
 * The methods both model kinds share; the worker's return promises. Once `unload()` was called,
 * every method fails with a Gguf64Error whose code is UNLOADED.
 */
interface ModelMethods<Async extends boolean> {
  /** What the model is, where it lives, how long it took. */
  readonly info: ModelInfo;
  /** What the last `generate` did; null before the first. */
  lastGeneration: GenerationRecord | null;
  tokenize(text: string, options?: TokenizeOptions): Answer<number[], Async>;
  detokenize(ids: ArrayLike<number>, options?: { special?: boolean }): Answer<string, Async>;
  applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions): Answer<string, Async>;
  /** Logits (vocabulary-sized) after `ids`, from an empty context. */
  logits(ids: ArrayLike<number>): Answer<Float32Array, Async>;
  promptIds(prompt: Prompt, options?: { chat?: boolean }): Answer<number[], Async>;
  /** Generates text: an async iterator of pieces (whole characters). */
  generate(prompt: Prompt, options?: GenerateOptions): AsyncGenerator<string, void, void>;
  /** A plain-text report: model analysis, memory plan, where each group lives. */
  summary(): Answer<string, Async>;
  /** SHA-256 (hex) over every tensor's bytes in header order, read back from memory. */
  tensorSha256(): Answer<string, Async>;
  /** For a paged layout, else undefined. */
  pagerStats(): Answer<PagerStats | undefined, Async>;
}

/** A model loaded in its own Web Worker (the default): methods return promises. */
export declare class WorkerModel implements ModelMethods<true> {
  private constructor();
  readonly info: ModelInfo;
  lastGeneration: GenerationRecord | null;
  tokenize(text: string, options?: TokenizeOptions): Promise<number[]>;
  detokenize(ids: ArrayLike<number>, options?: { special?: boolean }): Promise<string>;
  applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions): Promise<string>;
  logits(ids: ArrayLike<number>): Promise<Float32Array>;
  promptIds(prompt: Prompt, options?: { chat?: boolean }): Promise<number[]>;
  generate(prompt: Prompt, options?: GenerateOptions): AsyncGenerator<string, void, void>;
  summary(): Promise<string>;
  tensorSha256(): Promise<string>;
  pagerStats(): Promise<PagerStats | undefined>;
  /** Frees the model and ends its worker (all its memory goes back to the system). */
  unload(): Promise<void>;
}

/** A model loaded on the calling thread (`worker: false`): methods answer synchronously. */
export declare class LoadedModel implements ModelMethods<false> {
  private constructor();
  readonly info: ModelInfo;
  lastGeneration: GenerationRecord | null;
  tokenize(text: string, options?: TokenizeOptions): number[];
  detokenize(ids: ArrayLike<number>, options?: { special?: boolean }): string;
  applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions): string;
  logits(ids: ArrayLike<number>): Float32Array;
  promptIds(prompt: Prompt, options?: { chat?: boolean }): number[];
  generate(prompt: Prompt, options?: GenerateOptions): AsyncGenerator<string, void, void>;
  summary(): string;
  tensorSha256(): string;
  pagerStats(): PagerStats | undefined;
  /** Frees the model's memory (the wasm memory keeps its size and reuses the space). */
  unload(): void;
}

/**
 * Streams a GGUF model into WebAssembly memory, each tensor straight to its place, reporting
 * every group (embeddings, each layer, the output) as it lands. In a Web Worker unless `worker: false`.
 */
export declare function loadModel(source: ModelSource, options: LoadOptions & { worker: false }): Promise<LoadedModel>;
export declare function loadModel(source: ModelSource, options?: LoadOptions & { worker?: true }): Promise<WorkerModel>;
export declare function loadModel(source: ModelSource, options?: LoadOptions): Promise<WorkerModel | LoadedModel>;

/** One GGUF metadata value as `inspect` reports it (long arrays are cut to their head). */
export type MetadataValue =
  | string | number | boolean | null
  | MetadataValue[]
  | { type: 'array'; count: number; head: MetadataValue[] };

export interface TensorInfo {
  name: string;
  type: string;
  shape: number[];
  offset: number;
  nBytes: number;
}

export interface InspectOptions {
  signal?: AbortSignal;
  worker?: boolean;
  build?: 'auto' | BuildName;
  simd?: 'auto' | SimdName;
  layout?: LayoutName;
  shardCap?: number;
  memoryBudget?: number;
  memoryLimit?: number;
  workingSetLayers?: number;
}

/** What `inspect` reads from a header. */
export interface InspectReport {
  url: string;
  build: BuildName;
  simd: SimdName;
  ggufVersion: number;
  alignment: number;
  dataOffset: number;
  fileBytes: number;
  arch: string | null;
  nLayers: number | null;
  metadata: Record<string, MetadataValue>;
  tensors: TensorInfo[];
  /** The model's hyper-parameters, or `{ error }` when gguf64 cannot run it. */
  config: Record<string, unknown> | { error: string };
  /** The layout the model would get, or `{ error }` when it would not fit. */
  layout: Layout | { error: string };
  bytesRead: number;
  rangeRequests: number;
}

/** Reads only the header of a GGUF file (Range requests), without downloading the weights. */
export declare function inspect(url: string | URL, options?: InspectOptions): Promise<InspectReport>;

export interface CacheListing {
  url: string;
  size: number | null;
  cachedBytes: number;
  complete: boolean;
  validator: string | null;
}

/** The persistent model cache (Origin Private File System). */
export declare const cache: {
  /** Whether this browser has OPFS. */
  readonly available: boolean;
  list(): Promise<CacheListing[]>;
  /** Resolves to whether there was an entry. */
  delete(url: string | URL): Promise<boolean>;
  clear(): Promise<void>;
};

export declare function detectFeatures(): Features;

/** The build a load would use: wasm64 where the browser has memory64, else wasm32. */
export declare function chooseBuild(requested?: 'auto' | BuildName): BuildName;

/** Bytes of the main memory of each build instantiated on this thread so far. */
export declare function memoryUsage(): Promise<Partial<Record<BuildName, number>>>;

/** The part URLs of a split model named by any part (`…-00002-of-00003.gguf`); undefined for a single file. */
export declare function splitParts(source: ModelSource): string[] | undefined;
