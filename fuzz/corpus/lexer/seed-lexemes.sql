SELECT 0x1F, 0o17, 0b101, 1_000_000, 1.5e-3, .5, 5., 1e+9, $1, :v, :'v', :"v", a::int[];
SELECT E'a\'b\\c\x41\101\u0041', U&'\0041' UESCAPE '!', U&"a", B'101', X'FF', N'n', 'a''b' 'c';
SELECT $$a$$, $tag$ $$ $tag$, "Quoted""Ident", /* nested /* comment */ */ 1 -- line
+ 2 <=> 3 !~~* 4 @- 5 ->> 'k' #- '{a}';
\echo a \\ SELECT 1;
\i 'a b.sql'
