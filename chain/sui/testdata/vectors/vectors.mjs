// Golden vectors for chain/sui, made by Mysten's own TypeScript SDKs:
// @mysten/sui builds, digests and signs each Walrus transaction offline (every
// object input is a reference, gas is set), and @mysten/walrus's generated
// bindings serialize the Walrus Move objects. StakedWal, StorageNodeCap's
// companions and the events have no binding in @mysten/walrus 1.2.13; their
// layouts are transcribed below from contracts/walrus/sources and serialized
// with @mysten/sui's BCS.
//
//	npm ci && node vectors.mjs > vectors.json
//
// The Go tests read vectors.json and never need Node.js.
import { Transaction } from '@mysten/sui/transactions';
import { Ed25519Keypair } from '@mysten/sui/keypairs/ed25519';
import { bcs } from '@mysten/sui/bcs';
import { toHex, toBase64, toBase58 } from '@mysten/sui/utils';
import { System } from './node_modules/@mysten/walrus/dist/contracts/walrus/system.mjs';
import { SystemStateInnerV1 } from './node_modules/@mysten/walrus/dist/contracts/walrus/system_state_inner.mjs';
import { Staking } from './node_modules/@mysten/walrus/dist/contracts/walrus/staking.mjs';
import { StakingInnerV1 } from './node_modules/@mysten/walrus/dist/contracts/walrus/staking_inner.mjs';
import { StakingPool } from './node_modules/@mysten/walrus/dist/contracts/walrus/staking_pool.mjs';
import { Blob, insertOrUpdateMetadataPair, removeMetadataPair } from './node_modules/@mysten/walrus/dist/contracts/walrus/blob.mjs';
import { Metadata } from './node_modules/@mysten/walrus/dist/contracts/walrus/metadata.mjs';
import { Storage } from './node_modules/@mysten/walrus/dist/contracts/walrus/storage_resource.mjs';

const h32 = (b) => '0x' + b.toString(16).padStart(2, '0').repeat(32);
const bytes = (n, f) => Uint8Array.from({ length: n }, (_, i) => (f + i) & 0xff);

// ---- fixed inputs --------------------------------------------------------
const seed = bytes(32, 7);
const kp = Ed25519Keypair.fromSecretKey(seed);
const sender = kp.getPublicKey().toSuiAddress();
const pkg = h32(0x11);
const system = { objectId: h32(0x22), initialSharedVersion: 5 };
const staking = { objectId: h32(0x33), initialSharedVersion: 6 };
const clock = { objectId: '0x6', initialSharedVersion: 1 };
const walType = h32(0x44) + '::wal::WAL';
// An object digest is 32 bytes, shown in base58.
const digestOf = (b) => toBase58(bytes(32, b));
const oref = (b, version) => ({ objectId: h32(b), version: String(version), digest: digestOf(b) });
const gas = [oref(0xa0, 10), oref(0xa1, 11)];
const gasPrice = 1000;
const gasBudget = 50_000_000;
const walCoins = [oref(0xb0, 20), oref(0xb1, 21), oref(0xb2, 22)];
const blobObj = oref(0xc0, 30);
const storageObj = oref(0xc1, 31);
const stakedObj = oref(0xc2, 32);
const capObj = oref(0xc3, 33);
const nodeID = h32(0x55);
const blobID = 0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20n;
const rootHash = 0x2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40n;
const owner = h32(0x66);
// Our node record (chain/sui netrecord.go): network_address "/p2p/<peer ID> <multiaddr>...",
// network_public_key 0x00 ‖ Ed25519 key; the peer ID is the identity multihash of the key.
const netKey = bytes(32, 0xd0);
const peerID = toBase58(Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...netKey]));
const netAddr = `/p2p/${peerID} /ip4/127.0.0.1/tcp/9000 /ip6/::1/tcp/9000`;

function base(tx) {
	tx.setSender(sender);
	tx.setGasOwner(sender);
	tx.setGasPrice(gasPrice);
	tx.setGasBudget(gasBudget);
	tx.setGasPayment(gas);
}
const sys = (tx, mutable) => tx.sharedObjectRef({ ...system, mutable });
const stk = (tx) => tx.sharedObjectRef({ ...staking, mutable: true });
// wal merges the WAL coins into the first and returns it.
function wal(tx, coins) {
	const first = tx.objectRef(coins[0]);
	if (coins.length > 1) tx.mergeCoins(first, coins.slice(1).map((c) => tx.objectRef(c)));
	return first;
}
const call = (tx, module, fn, args, typeArguments = []) =>
	tx.moveCall({ target: `${pkg}::${module}::${fn}`, arguments: args, typeArguments });

// The certificate of the Go tests' committee (chain.Certificate's fields).
const certMsg = Uint8Array.from([1, 0, 3, 7, 0, 0, 0, ...bytes(32, 1), 0]);
const certSig = bytes(96, 0x80);
const certBitmap = Uint8Array.from([0x0b]);
const invalidMsg = Uint8Array.from([2, 0, 3, 7, 0, 0, 0, ...bytes(32, 1)]);

const attrPairs = [['content-type', 'text/plain'], ['x-key', 'a value']];

const txs = {
	reserve_space(tx) {
		const s = sys(tx, true);
		const c = wal(tx, walCoins);
		const st = call(tx, 'system', 'reserve_space', [s, tx.pure.u64(5 << 20), tx.pure.u32(3), c]);
		tx.transferObjects([st], tx.pure.address(sender));
	},
	register_blob(tx) {
		const s = sys(tx, true);
		const c = wal(tx, walCoins);
		const st = call(tx, 'system', 'reserve_space', [s, tx.pure.u64(5 << 20), tx.pure.u32(3), c]);
		const b = call(tx, 'system', 'register_blob', [
			s, st, tx.pure.u256(blobID), tx.pure.u256(rootHash), tx.pure.u64(1000), tx.pure.u8(1), tx.pure.bool(true), c,
		]);
		tx.transferObjects([b], tx.pure.address(owner));
	},
	register_blob_with_storage(tx) {
		const s = sys(tx, true);
		const c = wal(tx, walCoins.slice(0, 1));
		const b = call(tx, 'system', 'register_blob', [
			s, tx.objectRef(storageObj), tx.pure.u256(blobID), tx.pure.u256(rootHash), tx.pure.u64(1000), tx.pure.u8(1), tx.pure.bool(false), c,
		]);
		tx.transferObjects([b], tx.pure.address(sender));
	},
	certify_blob(tx) {
		call(tx, 'system', 'certify_blob', [
			sys(tx, false), tx.objectRef(blobObj), tx.pure.vector('u8', certSig), tx.pure.vector('u8', certBitmap), tx.pure.vector('u8', certMsg),
		]);
	},
	delete_blob(tx) {
		const st = call(tx, 'system', 'delete_blob', [sys(tx, false), tx.objectRef(blobObj)]);
		tx.transferObjects([st], tx.pure.address(sender));
	},
	extend_blob(tx) {
		const s = sys(tx, true);
		const b = tx.objectRef(blobObj);
		const c = wal(tx, walCoins.slice(0, 2));
		call(tx, 'system', 'extend_blob', [s, b, tx.pure.u32(4), c]);
	},
	invalidate_blob_id(tx) {
		call(tx, 'system', 'invalidate_blob_id', [
			sys(tx, false), tx.pure.vector('u8', certSig), tx.pure.vector('u8', certBitmap), tx.pure.vector('u8', invalidMsg),
		]);
	},
	register_candidate(tx) {
		const st = stk(tx);
		const md = call(tx, 'node_metadata', 'new', [tx.pure.string(''), tx.pure.string(''), tx.pure.string('walrus-go node')]);
		const cap = call(tx, 'staking', 'register_candidate', [
			st, tx.pure.string('node-0'), tx.pure.string(netAddr), md,
			tx.pure.vector('u8', bytes(48, 0x90)), tx.pure.vector('u8', Uint8Array.from([0, ...netKey])),
			tx.pure.vector('u8', bytes(96, 0x70)), tx.pure.u16(1000), tx.pure.u64(1000), tx.pure.u64(300), tx.pure.u64(1n << 40n),
		]);
		tx.transferObjects([cap], tx.pure.address(sender));
	},
	update_node(tx) {
		const st = stk(tx);
		const cap = tx.objectRef(capObj);
		call(tx, 'staking', 'set_name', [st, cap, tx.pure.string('renamed')]);
		call(tx, 'staking', 'set_network_address', [st, cap, tx.pure.string('/ip4/10.0.0.1/tcp/1')]);
		call(tx, 'staking', 'set_next_commission', [st, cap, tx.pure.u16(2500)]);
		call(tx, 'staking', 'set_next_public_key', [st, cap, tx.pure.vector('u8', bytes(48, 0x91)), tx.pure.vector('u8', bytes(96, 0x71))]);
		call(tx, 'staking', 'set_storage_price_vote', [st, cap, tx.pure.u64(1100)]);
	},
	stake_with_pool(tx) {
		const st = stk(tx);
		const c = wal(tx, walCoins);
		const [part] = tx.splitCoins(c, [tx.pure.u64(2_000_000_000)]);
		const sw = call(tx, 'staking', 'stake_with_pool', [st, part, tx.pure.address(nodeID)]);
		tx.transferObjects([sw], tx.pure.address(sender));
	},
	request_withdraw_stake(tx) {
		call(tx, 'staking', 'request_withdraw_stake', [stk(tx), tx.objectRef(stakedObj)]);
	},
	withdraw_stake(tx) {
		const c = call(tx, 'staking', 'withdraw_stake', [stk(tx), tx.objectRef(stakedObj)]);
		tx.transferObjects([c], tx.pure.address(sender));
	},
	set_next_commission(tx) {
		call(tx, 'staking', 'set_next_commission', [stk(tx), tx.objectRef(capObj), tx.pure.u16(1500)]);
	},
	collect_commission(tx) {
		const st = stk(tx);
		const cap = tx.objectRef(capObj);
		const auth = call(tx, 'auth', 'authenticate_with_object', [cap], [`${pkg}::storage_node::StorageNodeCap`]);
		const c = call(tx, 'staking', 'collect_commission', [st, tx.pure.address(nodeID), auth]);
		tx.transferObjects([c], tx.pure.address(sender));
	},
	epoch_sync_done(tx) {
		call(tx, 'staking', 'epoch_sync_done', [stk(tx), tx.objectRef(capObj), tx.pure.u32(7), tx.sharedObjectRef({ ...clock, mutable: false })]);
	},
	// Blob attributes (the blob's "metadata" dynamic field), through
	// @mysten/walrus's bindings; take_metadata has none in 1.2.13.
	set_blob_attribute(tx) {
		const b = tx.objectRef(blobObj);
		for (const [k, v] of attrPairs) tx.add(insertOrUpdateMetadataPair({ package: pkg, arguments: [b, k, v] }));
	},
	remove_blob_attribute_pairs(tx) {
		const b = tx.objectRef(blobObj);
		for (const [k] of attrPairs) tx.add(removeMetadataPair({ package: pkg, arguments: [b, k] }));
	},
	remove_blob_attribute(tx) {
		call(tx, 'blob', 'take_metadata', [tx.objectRef(blobObj)]);
	},
	transfer_wal(tx) {
		const c = wal(tx, walCoins);
		const [part] = tx.splitCoins(c, [tx.pure.u64(123_456_789)]);
		tx.transferObjects([part], tx.pure.address(owner));
	},
	transfer_wal_one_coin(tx) {
		const c = wal(tx, walCoins.slice(0, 1));
		const [part] = tx.splitCoins(c, [tx.pure.u64(5)]);
		tx.transferObjects([part], tx.pure.address(owner));
	},
};

async function transactions() {
	const out = {};
	for (const [name, build] of Object.entries(txs)) {
		const tx = new Transaction();
		base(tx);
		build(tx);
		const raw = await tx.build();
		const { signature } = await kp.signTransaction(raw);
		out[name] = { txBytes: toBase64(raw), digest: await tx.getDigest(), signature };
	}
	return out;
}

// ---- Move objects and events ----------------------------------------------
const ID = bcs.Address;
const Field = (K, V) => bcs.struct('Field', { id: bcs.Address, name: K, value: V });
const StakedWalState = bcs.enum('StakedWalState', { Staked: null, Withdrawing: bcs.struct('W', { withdraw_epoch: bcs.u32() }) });
const StakedWal = bcs.struct('StakedWal', {
	id: bcs.Address, state: StakedWalState, node_id: ID, principal: bcs.struct('Balance', { value: bcs.u64() }), activation_epoch: bcs.u32(),
});
const StorageNodeCap = bcs.struct('StorageNodeCap', {
	id: bcs.Address, node_id: ID, last_epoch_sync_done: bcs.u32(),
	last_event_blob_attestation: bcs.option(bcs.struct('EventBlobAttestation', { checkpoint_sequence_num: bcs.u64(), epoch: bcs.u32() })),
	deny_list_root: bcs.u256(), deny_list_sequence: bcs.u64(), deny_list_size: bcs.u64(),
});
const events = {
	BlobRegistered: bcs.struct('BlobRegistered', {
		epoch: bcs.u32(), blob_id: bcs.u256(), size: bcs.u64(), encoding_type: bcs.u8(), end_epoch: bcs.u32(), deletable: bcs.bool(), object_id: ID,
	}),
	BlobCertified: bcs.struct('BlobCertified', {
		epoch: bcs.u32(), blob_id: bcs.u256(), end_epoch: bcs.u32(), deletable: bcs.bool(), object_id: ID, is_extension: bcs.bool(),
	}),
	BlobDeleted: bcs.struct('BlobDeleted', { epoch: bcs.u32(), blob_id: bcs.u256(), end_epoch: bcs.u32(), object_id: ID, was_certified: bcs.bool() }),
	InvalidBlobID: bcs.struct('InvalidBlobID', { epoch: bcs.u32(), blob_id: bcs.u256() }),
	EpochChangeStart: bcs.struct('EpochChangeStart', { epoch: bcs.u32() }),
	EpochChangeDone: bcs.struct('EpochChangeDone', { epoch: bcs.u32() }),
	EpochParametersSelected: bcs.struct('EpochParametersSelected', { next_epoch: bcs.u32() }),
	ShardsReceived: bcs.struct('ShardsReceived', { epoch: bcs.u32(), shards: bcs.vector(bcs.u16()) }),
};

const pk = (b) => ({ bytes: Array.from(bytes(48, b)) });
const committeeMap = (entries) => [{ contents: entries.map(([k, v]) => ({ key: k, value: v })) }];
const objects = {
	System: [System, { id: h32(0x22), version: 1, package_id: pkg, new_package_id: null }],
	SystemStateInnerV1: [Field(bcs.u64(), SystemStateInnerV1), {
		id: h32(0x23), name: 1,
		value: {
			committee: {
				members: [
					{ public_key: pk(0x90), weight: 7, node_id: h32(0x55) },
					{ public_key: pk(0x92), weight: 3, node_id: h32(0x56) },
				],
				n_shards: 10, epoch: 7, total_aggregated_key: pk(0x94),
			},
			total_capacity_size: 1n << 45n, used_capacity_size: 123456, storage_price_per_unit_size: 1000, write_price_per_unit_size: 300,
			future_accounting: {
				current_index: 1, length: 3,
				ring_buffer: [
					{ epoch: 7, used_capacity: 10, rewards_to_distribute: { value: 20 } },
					{ epoch: 8, used_capacity: 11, rewards_to_distribute: { value: 21 } },
					{ epoch: 9, used_capacity: 12, rewards_to_distribute: { value: 22 } },
				],
			},
			event_blob_certification_state: {
				latest_certified_blob: { blob_id: 5n, ending_checkpoint_sequence_number: 99 },
				aggregate_weight_per_blob: { contents: [{ key: { blob_id: 6n, ending_checkpoint_sequence_number: 100 }, value: 4 }] },
			},
			deny_list_sizes: { id: h32(0x24) },
		},
	}],
	Staking: [Staking, { id: h32(0x33), version: 1, package_id: pkg, new_package_id: h32(0x12) }],
	StakingInnerV1: [Field(bcs.u64(), StakingInnerV1), {
		id: h32(0x34), name: 1,
		value: {
			n_shards: 10, epoch_duration: 3_600_000, first_epoch_start: 1_700_000_000_000, pools: { id: h32(0x35), size: 2 }, epoch: 7,
			active_set: { id: h32(0x36) },
			next_committee: null,
			committee: committeeMap([[h32(0x55), [0, 1, 2, 3, 4, 5, 6]], [h32(0x56), [7, 8, 9]]]),
			previous_committee: committeeMap([[h32(0x55), [0, 1, 2, 3, 4]], [h32(0x56), [5, 6, 7, 8, 9]]]),
			next_epoch_params: { total_capacity_size: 1n << 45n, storage_price_per_unit_size: 1100, write_price_per_unit_size: 310 },
			epoch_state: { NextParamsSelected: 1_700_000_123_000 },
			next_epoch_public_keys: { id: h32(0x37) },
		},
	}],
	StakingInnerV1Syncing: [Field(bcs.u64(), StakingInnerV1), {
		id: h32(0x34), name: 1,
		value: {
			n_shards: 10, epoch_duration: 3_600_000, first_epoch_start: 1_700_000_000_000, pools: { id: h32(0x35), size: 2 }, epoch: 8,
			active_set: { id: h32(0x36) },
			next_committee: committeeMap([[h32(0x56), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]]),
			committee: committeeMap([[h32(0x55), [0, 1, 2, 3, 4, 5, 6]], [h32(0x56), [7, 8, 9]]]),
			previous_committee: committeeMap([]),
			next_epoch_params: null,
			epoch_state: { EpochChangeSync: 3 },
			next_epoch_public_keys: { id: h32(0x37) },
		},
	}],
	StakingPool: [StakingPool, {
		id: h32(0x55),
		state: { Active: true },
		voting_params: { storage_price: 1000, write_price: 300, node_capacity: 1n << 40n },
		node_info: {
			name: 'node-0', node_id: h32(0x55), network_address: netAddr,
			public_key: pk(0x90), next_epoch_public_key: pk(0x91), network_public_key: Array.from([0, ...netKey]),
			metadata: { id: h32(0x57) },
		},
		activation_epoch: 1, latest_epoch: 7, wal_balance: 40_000_000_000, num_shares: 39_000_000_000,
		pending_shares_withdraw: [{ contents: [] }],
		pre_active_withdrawals: [{ contents: [{ key: 8, value: 5 }] }],
		pending_commission_rate: [{ contents: [{ key: 8, value: 2500 }] }],
		commission_rate: 1000,
		exchange_rates: { id: h32(0x58), size: 7 },
		pending_stake: [{ contents: [{ key: 8, value: 2_000_000_000 }, { key: 9, value: 1_000_000_000 }] }],
		rewards_pool: { value: 77 }, commission: { value: 12 },
		commission_receiver: { ObjectID: h32(0xc3) },
		governance_authorized: { Address: sender },
		extra_fields: { id: h32(0x59), size: 0 },
	}],
	StakingPoolWithdrawing: [StakingPool, {
		id: h32(0x56),
		state: { Withdrawing: 9 },
		voting_params: { storage_price: 1, write_price: 2, node_capacity: 3 },
		node_info: {
			name: 'walrus-node', node_id: h32(0x56), network_address: 'walrus.example.com:9185',
			public_key: pk(0x92), next_epoch_public_key: null, network_public_key: Array.from([2, ...bytes(32, 0xe0)]),
			metadata: { id: h32(0x5a) },
		},
		activation_epoch: 2, latest_epoch: 7, wal_balance: 1, num_shares: 1,
		pending_shares_withdraw: [{ contents: [] }], pre_active_withdrawals: [{ contents: [] }], pending_commission_rate: [{ contents: [] }],
		commission_rate: 0, exchange_rates: { id: h32(0x5b), size: 0 }, pending_stake: [{ contents: [] }],
		rewards_pool: { value: 0 }, commission: { value: 0 },
		commission_receiver: { Address: sender }, governance_authorized: { ObjectID: h32(0xc3) },
		extra_fields: { id: h32(0x5c), size: 0 },
	}],
	Blob: [Blob, {
		id: h32(0xc0), registered_epoch: 7, blob_id: blobID, size: 1000, encoding_type: 1, certified_epoch: 7,
		storage: { id: h32(0xc1), start_epoch: 7, end_epoch: 10, storage_size: 5 << 20 }, deletable: true,
	}],
	BlobUncertified: [Blob, {
		id: h32(0xc4), registered_epoch: 7, blob_id: blobID, size: 1000, encoding_type: 1, certified_epoch: null,
		storage: { id: h32(0xc5), start_epoch: 7, end_epoch: 8, storage_size: 5 << 20 }, deletable: false,
	}],
	// The Blob's attribute: the dynamic field b"metadata" of Metadata.
	BlobMetadataField: [Field(bcs.vector(bcs.u8()), Metadata), {
		id: h32(0xc6), name: Array.from(new TextEncoder().encode('metadata')),
		value: { metadata: { contents: attrPairs.map(([key, value]) => ({ key, value })) } },
	}],
	Storage: [Storage, { id: h32(0xc1), start_epoch: 7, end_epoch: 10, storage_size: 5 << 20 }],
	StakedWal: [StakedWal, { id: h32(0xc2), state: { Staked: true }, node_id: nodeID, principal: { value: 2_000_000_000 }, activation_epoch: 8 }],
	StakedWalWithdrawing: [StakedWal, { id: h32(0xc2), state: { Withdrawing: { withdraw_epoch: 10 } }, node_id: nodeID, principal: { value: 2_000_000_000 }, activation_epoch: 8 }],
	StorageNodeCap: [StorageNodeCap, {
		id: h32(0xc3), node_id: nodeID, last_epoch_sync_done: 6, last_event_blob_attestation: { checkpoint_sequence_num: 42, epoch: 7 },
		deny_list_root: 0n, deny_list_sequence: 0, deny_list_size: 0,
	}],
};
const eventValues = {
	BlobRegistered: { epoch: 7, blob_id: blobID, size: 1000, encoding_type: 1, end_epoch: 10, deletable: true, object_id: h32(0xc0) },
	BlobCertified: { epoch: 7, blob_id: blobID, end_epoch: 10, deletable: true, object_id: h32(0xc0), is_extension: false },
	BlobExtended: { epoch: 8, blob_id: blobID, end_epoch: 14, deletable: true, object_id: h32(0xc0), is_extension: true },
	BlobDeleted: { epoch: 9, blob_id: blobID, end_epoch: 14, object_id: h32(0xc0), was_certified: true },
	InvalidBlobID: { epoch: 7, blob_id: blobID },
	EpochChangeStart: { epoch: 8 },
	EpochChangeDone: { epoch: 8 },
	EpochParametersSelected: { next_epoch: 9 },
	ShardsReceived: { epoch: 8, shards: [3, 5, 9] },
};

const out = { peerID, netAddr, sender, publicKey: kp.getPublicKey().toBase64(), seed: toHex(seed), package: pkg, walType, system, staking, transactions: await transactions(), objects: {}, events: {} };
for (const [name, [type, value]] of Object.entries(objects)) out.objects[name] = toBase64(type.serialize(value).toBytes());
for (const [name, value] of Object.entries(eventValues)) {
	const type = events[name === 'BlobExtended' ? 'BlobCertified' : name];
	out.events[name] = toBase64(type.serialize(value).toBytes());
}
console.log(JSON.stringify(out, null, '\t'));
