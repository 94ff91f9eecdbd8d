// Bundles the demo page (www/) with the package's public entry into dist/www/.
// The wasm files are emitted as assets through `new URL('…_bg.wasm', import.meta.url)`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));

export default {
  entry: { main: './www/main.js' },
  output: {
    path: path.join(root, 'dist/www'),
    filename: '[name].js',
    chunkFilename: '[name].[contenthash:8].js',
    assetModuleFilename: '[name].[contenthash:8][ext]',
    clean: true,
  },
  module: {
    rules: [
      { test: /index\.html$/, type: 'asset/resource', generator: { filename: 'index.html' } },
    ],
  },
  resolve: { alias: { gguf64: path.join(root, 'src/js/gguf64.js') } },
  performance: { hints: false },
  devtool: 'source-map',
};
