// webpack.config.js — builds JupyterLab 3.6.8 from the npm packages in package.json.
//
//   npx webpack --mode=production        (install.sh does this; --mode=development is faster)
//
// Output goes to $CONCLAB_LAB_OUT (default lab/dist, ignored by git), laid out as the launcher
// (server/conclab_lab.py) serves it:
//   static/   the application: main.<hash>.js, its lazy chunks and assets; build.json names main
//   schemas/  every extension's settings schemas   (copied by @jupyterlab/builder)
//   themes/   the light and dark theme CSS         (built by @jupyterlab/builder's theme configs)
// Nothing in the output is fetched from the network at run time.
const fs = require('fs');
const path = require('path');
const webpack = require('webpack');
const { Build } = require('@jupyterlab/builder');

const OUT = path.resolve(process.env.CONCLAB_LAB_OUT || path.join(__dirname, 'dist'));
const STATIC = path.join(OUT, 'static');
const GENERATED = path.join(OUT, 'generated');
const pkg = require('./package.json');

// Every extension package must be both installed and started: a package listed in only one of
// package.json and src/extensions.js would give settings without a plugin, or the reverse.
const extensionPackages = Object.keys(pkg.dependencies).filter((n) => n.endsWith('-extension'));
const listed = fs.readFileSync(path.join(__dirname, 'src', 'extensions.js'), 'utf8');
for (const name of extensionPackages) {
  if (!listed.includes(`require('${name}')`)) throw new Error(`${name} is in package.json but not in src/extensions.js`);
}

// Schemas to OUT/schemas, one webpack config per theme (to OUT/themes), and a style.js that
// imports every extension's CSS.
fs.mkdirSync(GENERATED, { recursive: true });
const themeConfigs = Build.ensureAssets({
  packageNames: extensionPackages,
  output: GENERATED,
  schemaOutput: OUT,
  themeOutput: OUT,
});

// Writes static/build.json: the launcher puts the hashed name of the main bundle in the page.
class WriteBuildManifest {
  apply(compiler) {
    compiler.hooks.done.tap('WriteBuildManifest', (stats) => {
      const main = stats.toJson({ all: false, entrypoints: true }).entrypoints.main.assets.map((a) => a.name);
      const manifest = { main: main.filter((f) => f.endsWith('.js')), jupyterlab: '3.6.8' };
      fs.writeFileSync(path.join(STATIC, 'build.json'), JSON.stringify(manifest, null, 1) + '\n');
    });
  }
}

module.exports = (env, argv) => {
  const production = argv.mode !== 'development';
  const app = {
    mode: production ? 'production' : 'development',
    entry: { main: path.join(__dirname, 'src', 'index.js') },
    output: {
      path: STATIC,
      filename: '[name].[contenthash].js',
      chunkFilename: '[name].[contenthash].js',
      assetModuleFilename: 'assets/[hash][ext]',
      hashFunction: 'sha256',
      clean: true,
    },
    devtool: production ? false : 'eval-cheap-source-map',
    performance: { hints: false },
    resolve: {
      // The generated style.js lives in OUT, which need not be under lab/.
      modules: [path.join(__dirname, 'node_modules'), 'node_modules'],
      alias: { 'conclab-lab-style$': path.join(GENERATED, 'style.js') },
      // Node built-ins some packages still name; the browser gets small stand-ins or nothing.
      fallback: {
        path: require.resolve('path-browserify'),
        process: require.resolve('process/browser'),
        url: false, buffer: false, crypto: false, fs: false, os: false,
      },
    },
    module: {
      rules: [
        { test: /\.css$/, use: ['style-loader', 'css-loader'] },
        // Icons: JavaScript imports their SVG text; CSS refers to them as data URLs.
        { test: /\.svg$/, issuer: /\.css$/, type: 'asset/inline' },
        { test: /\.svg$/, issuer: /\.[cm]?js$/, type: 'asset/source' },
        { test: /\.(md|txt)$/, type: 'asset/source' },
        { test: /\.(png|jpe?g|gif|ico|cur|eot|ttf|otf|woff2?)(\?.*)?$/, type: 'asset/resource' },
        // Some packages ship ES modules without file extensions in their imports.
        { test: /\.m?js$/, resolve: { fullySpecified: false } },
      ],
    },
    plugins: [
      new webpack.ProvidePlugin({ process: 'process/browser' }),
      new WriteBuildManifest(),
    ],
  };
  return [app, ...themeConfigs.map((c) => ({ ...c, mode: app.mode }))];
};
