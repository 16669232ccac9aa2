pragma circom 2.1.0;
// 4 position slot(s), a table of 32 series, a tree of depth 20.
include "margin.circom";
component main {public [root, mmBps, kBps, challenge, tag, tableId, tableIsCall, tableSpot, tableMark, tableLotE12]} = MarginProof(4, 32, 20);
