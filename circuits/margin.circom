pragma circom 2.1.0;

// Palisade margin-sufficiency proof (issue 17). See src/privacy/margin-proof.ts for the threat
// model and circuits/README.md for the build. Statement, for public (root, table, mmBps, kBps,
// challenge, tag):
//   there is a leaf in the depth-D Poseidon tree with root `root`,
//     leaf = Poseidon(balance, positionsDigest, Poseidon(secret)),
//   tag = Poseidon(secret, challenge),
//   and the account's equity · 10^4 >= kBps · maintenance under the engine's standard margin
//   (src/execution/margin.ts standardShortMargin, src/execution/assess.ts), evaluated with the
//   same floors and ceilings as the engine.

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";

// in < 2^n, as a constraint (n bits).
template Range(n) {
    signal input in;
    component b = Num2Bits(n);
    b.in <== in;
}

// q = floor(a / d) for a constant d > 0, a < 2^aBits: q and r are witnesses bound by a = q·d + r,
// 0 <= r < d.
template DivConst(aBits, dBits, d) {
    signal input a;
    signal output q;
    signal r;
    q <-- a \ d;
    r <-- a % d;
    a === q * d + r;
    component qr = Range(aBits);
    qr.in <== q;
    component rr = Range(dBits);
    rr.in <== r;
    component lt = LessThan(dBits);
    lt.in[0] <== r;
    lt.in[1] <== d;
    lt.out === 1;
}

// max(a, b) for a, b < 2^n.
template Max(n) {
    signal input a;
    signal input b;
    signal output out;
    component lt = LessThan(n);
    lt.in[0] <== a;
    lt.in[1] <== b;
    out <== a + lt.out * (b - a);
}

template MarginProof(N, M, D) {
    // ---- public ----
    signal input root;
    signal input mmBps;
    signal input kBps;
    signal input challenge;
    signal input tag;
    // The series table the verifier built from the certified marks at height h: every live series.
    signal input tableId[M];
    signal input tableIsCall[M];
    signal input tableSpot[M];      // quote base units per unit of underlying (the index)
    signal input tableMark[M];      // mark per unit, fixed point 10^18 (engine's markPerUnit)
    signal input tableLotE12[M];    // units of underlying per lot × 10^12

    // ---- private ----
    signal input secret;
    signal input balance;
    signal input used[N];
    signal input seriesId[N];
    signal input short[N];          // 1 when the position is short
    signal input lots[N];           // |lots|
    signal input pathBits[D];
    signal input siblings[D];

    var ONE = 1000000000000000000;
    var E12 = 1000000000000;

    // ---- range checks on every integer ----
    component rMm = Range(14); rMm.in <== mmBps;      // <= 16383 bps
    component rK = Range(20); rK.in <== kBps;          // k < 104.8576
    component rBal = Range(64); rBal.in <== balance;
    component rTid[M]; component rTsp[M]; component rTmk[M]; component rTlot[M];
    for (var j = 0; j < M; j++) {
        rTid[j] = Range(33); rTid[j].in <== tableId[j];
        tableIsCall[j] * (1 - tableIsCall[j]) === 0;
        rTsp[j] = Range(48); rTsp[j].in <== tableSpot[j];
        rTmk[j] = Range(100); rTmk[j].in <== tableMark[j];
        rTlot[j] = Range(48); rTlot[j].in <== tableLotE12[j];
    }
    component rSid[N]; component rLots[N];
    for (var i = 0; i < N; i++) {
        used[i] * (1 - used[i]) === 0;
        short[i] * (1 - short[i]) === 0;
        rSid[i] = Range(32); rSid[i].in <== seriesId[i];
        rLots[i] = Range(32); rLots[i].in <== lots[i];
        // An unused slot carries nothing.
        lots[i] * (1 - used[i]) === 0;
        seriesId[i] * (1 - used[i]) === 0;
        short[i] * (1 - used[i]) === 0;
    }

    // ---- ownership and tag ----
    component owner = Poseidon(1);
    owner.inputs[0] <== secret;
    component tagHash = Poseidon(2);
    tagHash.inputs[0] <== secret;
    tagHash.inputs[1] <== challenge;
    tag === tagHash.out;

    // ---- positions digest: d' = used ? Poseidon(d, packed) : d ----
    signal digest[N + 1];
    signal packed[N];
    component chain[N];
    digest[0] <== 0;
    for (var i = 0; i < N; i++) {
        packed[i] <== seriesId[i] * 8589934592 + short[i] * 4294967296 + lots[i];
        chain[i] = Poseidon(2);
        chain[i].inputs[0] <== digest[i];
        chain[i].inputs[1] <== packed[i];
        digest[i + 1] <== digest[i] + used[i] * (chain[i].out - digest[i]);
    }

    // ---- membership ----
    component leaf = Poseidon(3);
    leaf.inputs[0] <== balance;
    leaf.inputs[1] <== digest[N];
    leaf.inputs[2] <== owner.out;
    signal cur[D + 1];
    signal left[D];
    signal right[D];
    component level[D];
    cur[0] <== leaf.out;
    for (var l = 0; l < D; l++) {
        pathBits[l] * (1 - pathBits[l]) === 0;
        left[l] <== cur[l] + pathBits[l] * (siblings[l] - cur[l]);
        right[l] <== siblings[l] + cur[l] - left[l];
        level[l] = Poseidon(2);
        level[l].inputs[0] <== left[l];
        level[l].inputs[1] <== right[l];
        cur[l + 1] <== level[l].out;
    }
    root === cur[D];

    // ---- margin, per position (engine: marks.ts markOf, margin.ts standardShortMargin) ----
    signal sel[N][M];
    signal selId[N][M]; signal selCall[N][M]; signal selSpot[N][M]; signal selMark[N][M]; signal selLot[N][M];
    signal isCall[N]; signal spot[N]; signal mark[N]; signal lotE12[N];
    signal markLotNum[N]; signal mmUnit[N]; signal mmLotNum[N];
    signal putBranch[N]; signal callPart[N];
    signal longValue[N + 1]; signal shortValue[N + 1]; signal mmSum[N + 1];
    signal signedLotsLong[N]; signal signedLotsShort[N];
    component markLot[N]; component mmLot[N]; component putMarkPart[N]; component putMax[N];
    longValue[0] <== 0; shortValue[0] <== 0; mmSum[0] <== 0;
    var accId[N]; var accCall[N]; var accSpot[N]; var accMark[N]; var accLot[N]; var accSel[N];
    for (var i = 0; i < N; i++) {
        accId[i] = 0; accCall[i] = 0; accSpot[i] = 0; accMark[i] = 0; accLot[i] = 0; accSel[i] = 0;
        for (var j = 0; j < M; j++) {
            sel[i][j] <-- (used[i] == 1 && seriesId[i] == tableId[j]) ? 1 : 0;
            sel[i][j] * (1 - sel[i][j]) === 0;
            selId[i][j] <== sel[i][j] * tableId[j];
            selCall[i][j] <== sel[i][j] * tableIsCall[j];
            selSpot[i][j] <== sel[i][j] * tableSpot[j];
            selMark[i][j] <== sel[i][j] * tableMark[j];
            selLot[i][j] <== sel[i][j] * tableLotE12[j];
            accSel[i] += sel[i][j]; accId[i] += selId[i][j]; accCall[i] += selCall[i][j];
            accSpot[i] += selSpot[i][j]; accMark[i] += selMark[i][j]; accLot[i] += selLot[i][j];
        }
        // A used position names exactly one series of the table (table ids are distinct, checked
        // by the verifier); an unused one names none.
        accSel[i] === used[i];
        accId[i] === seriesId[i];
        isCall[i] <== accCall[i]; spot[i] <== accSpot[i]; mark[i] <== accMark[i]; lotE12[i] <== accLot[i];

        // markPerLot = floor(markPerUnit · lotE12 / 10^12)            (margin.ts perLot)
        markLotNum[i] <== mark[i] * lotE12[i];
        markLot[i] = DivConst(148, 40, E12);
        markLot[i].a <== markLotNum[i];

        // maintenance per unit (fixed point):
        //   call: S·mmBps·10^14 + m
        //   put:  max(S·mmBps·10^14, floor(m·mmBps / 10^4)) + m
        callPart[i] <== spot[i] * mmBps * 100000000000000;
        putMarkPart[i] = DivConst(114, 14, 10000);
        putMarkPart[i].a <== mark[i] * mmBps;
        putMax[i] = Max(116);
        putMax[i].a <== callPart[i];
        putMax[i].b <== putMarkPart[i].q;
        putBranch[i] <== putMax[i].out + isCall[i] * (callPart[i] - putMax[i].out);
        mmUnit[i] <== putBranch[i] + mark[i];
        mmLotNum[i] <== mmUnit[i] * lotE12[i];
        mmLot[i] = DivConst(166, 40, E12);
        mmLot[i].a <== mmLotNum[i];

        // equity·ONE += lots · markPerLot; maintenance·ONE += |short lots| · mmPerLot
        signedLotsShort[i] <== lots[i] * short[i];
        signedLotsLong[i] <== lots[i] - signedLotsShort[i];
        longValue[i + 1] <== longValue[i] + signedLotsLong[i] * markLot[i].q;
        shortValue[i + 1] <== shortValue[i] + signedLotsShort[i] * markLot[i].q;
        mmSum[i + 1] <== mmSum[i] + signedLotsShort[i] * mmLot[i].q;
    }

    // equity = balance + floor((longValue − shortValue) / ONE), required >= 0 (assess.ts)
    signal equityFixedPos <== balance * ONE + longValue[N];
    component nonNegative = LessEqThan(200);
    nonNegative.in[0] <== shortValue[N];
    nonNegative.in[1] <== equityFixedPos;
    nonNegative.out === 1;
    component equity = DivConst(140, 60, ONE);
    equity.a <== equityFixedPos - shortValue[N];
    // maintenance = ceil(mmSum / ONE) = floor((mmSum + ONE − 1) / ONE)
    component maintenance = DivConst(140, 60, ONE);
    maintenance.a <== mmSum[N] + ONE - 1;

    // equity · 10^4 >= kBps · maintenance
    component enough = LessEqThan(200);
    enough.in[0] <== kBps * maintenance.q;
    enough.in[1] <== equity.q * 10000;
    enough.out === 1;
}
