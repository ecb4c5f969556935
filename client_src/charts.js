/*! uPlot 1.6.32 | (c) Leon Sorokin | MIT License | https://github.com/leeoniya/uPlot */
// The charting library of the operator's dashboard, bundled by esbuild into
// client_demo/vendor/charts.js and charts.css (`npm run build:client`).
import 'uplot/dist/uPlot.min.css';

export { default as uPlot } from 'uplot';
