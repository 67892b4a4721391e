// @bindery/osb: see README.md.
export {};
