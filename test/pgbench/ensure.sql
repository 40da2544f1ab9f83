\set k random(1, 4)
SELECT load.op('ensure', :k);
