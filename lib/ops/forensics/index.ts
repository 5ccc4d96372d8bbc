// Forensics: see the whole host. Every network namespace and who holds it,
// where an address lives, what is wrong (doctor), what pipewright leaked
// (gc), an honest delete, and the topology as a table, JSON, DOT, Mermaid
// or SVG.
export { scanNamespaces, parseNetnsId } from './scan';
export type { ScanOptions } from './scan';
export { holders, releasesFor, holderLines, waitReleased } from './holders';
export type { HoldersRef, HoldersReport } from './holders';
export { findIp, findMac, findIfname, isLocalOnly } from './find';
export type { FindMatch, FindResult, FindOptions } from './find';
export { doctor, CHECKS } from './doctor';
export type { DoctorOptions, DoctorReport, CheckResult, DoctorObject, NetworkdOptions } from './doctor';
export { deleteNamedNetns, NetnsBusyError } from './delete';
export type { DeleteNetnsOptions, DeleteNetnsResult } from './delete';
export { gc } from './gc';
export type { GcOptions, GcResult, GcLink, GcNamespace, GcAttachment } from './gc';
export { planRelease, namespaceNameOf, NAMESPACE_DIRS } from './release';
export type { KeptMount, MountRelease } from './release';
export { topology } from './topology';
export type { Topology, TopologyOptions, TopoNamespace, TopoLink, TopoEdge, TopoEdgeKind } from './topology';
export { renderTable } from './render/table';
export { renderDot } from './render/dot';
export { renderMermaid } from './render/mermaid';
export { renderSvg, dotToSvg } from './render/svg';
export { formatNetnsList, formatHolders, formatFind, formatDoctor, formatGc } from './render/report';
export { pairVeths, linkTarget } from './pairs';
export { pairVethsExact } from './nsid';
export type { Pairing, LinkAt } from './pairs';
export { ownedLinks, leakedLinks, parseOwnerAlias } from './owned';
export type { OwnedLink, LeakedLink, LeakReason } from './owned';
export { NAME_DIRS } from './collect';
export { runNetnsVerdict, mountPropagation } from './checks/namespaces';
export { readNetworkFiles, parseNetworkFile, networkdFindings, networkdMatches, globMatch, NETWORKD_DIRS } from './checks/networkd';
export type { NetworkFile } from './checks/networkd';
export { describeHolder } from './types';
export type {
  ScannedNetns, NetnsScan, NetnsHolders, NetnsFlags, NetnsAddress, ProcessHolder, MountHolder, FdHolder, NameEntry, StaleName, Release,
} from './types';
