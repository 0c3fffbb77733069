import { render } from 'preact';
import { App } from './ui/App.js';
import { boot } from './state.js';
import './styles.css';

render(<App />, document.getElementById('app')!);
void boot();
