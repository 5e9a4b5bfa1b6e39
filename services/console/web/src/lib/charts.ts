// ECharts, only the parts the page uses (a smaller bundle), and one way to make a chart: its
// instance is registered under a name in the store, where the browser tests read getOption().

import { BarChart, LineChart, ScatterChart } from 'echarts/charts';
import {
  GridComponent,
  LegendComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  BarChart,
  LineChart,
  ScatterChart,
  GridComponent,
  LegendComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
  CanvasRenderer,
]);

export type Chart = echarts.ECharts;
export type ChartOption = echarts.EChartsCoreOption;

export interface ChartRegistry {
  charts: Map<string, Chart>;
}

// A chart in `container`, resized with it, registered as `name` until disposed.
export function makeChart(
  registry: ChartRegistry,
  name: string,
  container: HTMLElement,
): { chart: Chart; dispose(): void } {
  const chart = echarts.init(container, undefined, { renderer: 'canvas' });
  registry.charts.set(name, chart);
  const observer = new ResizeObserver(() => chart.resize());
  observer.observe(container);
  return {
    chart,
    dispose() {
      observer.disconnect();
      if (registry.charts.get(name) === chart) {
        registry.charts.delete(name);
      }
      chart.dispose();
    },
  };
}

export const TEXT_COLOR = '#c9d4e8';
export const AXIS_COLOR = '#3a4d6e';
