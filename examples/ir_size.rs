use lockpath::ir::*;
use std::mem::size_of;
fn main() {
    println!("Event {} Call {} Arg {} LockRef {} Block {} Function {} Terminator {} Cond {} Param {} Annotation {} Span {}",
        size_of::<Event>(), size_of::<Call>(), size_of::<Arg>(), size_of::<LockRef>(), size_of::<Block>(), size_of::<Function>(),
        size_of::<Terminator>(), size_of::<Cond>(), size_of::<Param>(), size_of::<Annotation>(), size_of::<Span>());
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = lockpath::model::Model::builtin().unwrap();
    let attrs = model.attributes();
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_c::LANGUAGE.into()).unwrap();
    let (mut nf, mut nb, mut ne, mut na, mut ncall, mut npath_spill, mut names, mut name_bytes, mut lines, mut bytes_in, mut nparams) = (0usize,0usize,0usize,0usize,0usize,0usize,0usize,0usize,0usize,0usize,0usize);
    let mut files = Vec::new(); let mut enc = 0usize; let mut whole = 0usize;
    for a in &args { walk(std::path::Path::new(a), &mut files); }
    for f in &files {
        let Ok(b) = std::fs::read(f) else { continue };
        bytes_in += b.len();
        let facts = lockpath::extract::extract_file(&b, &mut parser, &attrs);
        whole += postcard::to_allocvec(&facts).map(|v| v.len()).unwrap_or(0);
        names += facts.names.len();
        name_bytes += facts.names.iter().map(|s| s.len()).sum::<usize>();
        lines += facts.line_starts.len();
        for func in &facts.functions {
            enc += postcard::to_allocvec(&func.blocks).map(|v| v.len()).unwrap_or(0);
            nf += 1; nb += func.blocks.len(); nparams += func.params.len();
            for bl in &func.blocks { ne += bl.events.len();
                for e in &bl.events { if let Event::Call(c) = e { ncall += 1; na += c.args.len();
                    for a in c.args.iter() { if let Arg::Path(l, _) = a { if l.path.len() > 3 { npath_spill += 1; } } } } } }
        }
    }
    let est = nf * size_of::<Function>() + nb * size_of::<Block>() + ne * size_of::<Event>() + na * size_of::<Arg>() + names * 16 + name_bytes + lines * 4 + nparams * size_of::<Param>();
    println!("files {} MB {} funcs {} blocks {} events {} calls {} args {} spills {} names {} name_bytes {} lines {} est {} MB",
        files.len(), bytes_in>>20, nf, nb, ne, ncall, na, npath_spill, names, name_bytes, lines, est >> 20);
    println!("encoded bodies {} MB, whole facts {} MB", enc >> 20, whole >> 20);
    println!("funcs {} MB blocks {} MB events {} MB args {} MB names {} MB lines {} MB",
        nf * size_of::<Function>() >> 20, nb * size_of::<Block>() >> 20, ne * size_of::<Event>() >> 20, na * size_of::<Arg>() >> 20, (names*16+name_bytes)>>20, lines*4>>20);
}
fn walk(d: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    if d.is_file() { out.push(d.into()); return; }
    let mut st = vec![d.to_path_buf()];
    while let Some(d) = st.pop() { for e in std::fs::read_dir(&d).unwrap().flatten() { let p = e.path();
        if e.file_type().unwrap().is_dir() { st.push(p) } else if matches!(p.extension().and_then(|e| e.to_str()), Some("c"|"h")) { out.push(p) } } }
}
