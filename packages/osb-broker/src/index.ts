// @bindery/osb-broker: see README.md.
export {};
