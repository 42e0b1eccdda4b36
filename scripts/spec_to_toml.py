#!/usr/bin/env python3
# One-off converter used to move the connector specs from code into spec.toml (issue 24): writes
# src/connectors/<folder>/spec.toml from `tributary connectors list --json`, with options that
# several specs of a folder share as [[groups.NAME]]. Kept for the s3 specs, which stay in code
# until the work on their options lands: convert, check that `tributary docs` and
# `connectors list --json` give the same bytes, then cut spec.cpp down to its checks.
import json, sys, tomllib, re, os
# usage: tributary connectors list --json > specs.json
#        scripts/spec_to_toml.py specs.json src/connectors [folder ...]
specs = json.load(open(sys.argv[1]))
only = set(sys.argv[3:])
where = {('source','file'):('file','source'),('sink','file'):('file','sink'),
 ('sink','http'):('http','sink'),('source','http_poll'):('http','poll'),('source','webhook'):('http','webhook'),
 ('source','kafka'):('kafka','source'),('sink','kafka'):('kafka','sink'),
 ('source','mqtt'):('mqtt','source'),('sink','mqtt'):('mqtt','sink'),
 ('sink','null'):('null','sink'),('source','random'):('random','source'),('sink','stdout'):('stdout','sink'),
 ('source','postgres'):('postgres','source'),('sink','postgres'):('postgres','sink'),
 ('sink','s3'):('s3','sink'),('source','s3_source'):('s3','source')}
W=98
def esc(s):
    out=''
    for ch in s:
        if ch=='\\': out+='\\\\'
        elif ch=='"': out+='\\"'
        elif ch=='\n': out+='\\n'
        elif ch=='\t': out+='\\t'
        elif ord(ch)<0x20 or ord(ch)==0x7f: out+='\\u%04x'%ord(ch)
        else: out+=ch
    return out
def wrap_line(e):
    # e: escaped text without newlines; split at spaces into chunks of <= W
    chunks=[]
    while len(e)>W:
        cut=e.rfind(' ',0,W)
        if cut<=0: break
        # include all following spaces in this chunk
        j=cut
        while j<len(e) and e[j]==' ': j+=1
        if j>=len(e): break
        # must not split an escape: a chunk ending with odd backslashes before the space? space is not part of escape
        chunks.append(e[:j]); e=e[j:]
    chunks.append(e)
    return chunks
def tstr(key, s):
    one = f'{key} = "{esc(s)}"'
    if '\n' not in s and len(one)<=100: return one
    lines=s.split('\n')
    body=[]
    for ln in lines:
        e=''.join(('\\\\' if c=='\\' else '\\"' if c=='"' else '\\t' if c=='\t' else ('\\u%04x'%ord(c) if ord(c)<0x20 or ord(c)==0x7f else c)) for c in ln)
        ch=wrap_line(e)
        body.append(' \\\n'.join(c.rstrip(' ')+(' ' if c.endswith(' ') else '') for c in ch) if False else '\\\n'.join(ch))
    return f'{key} = """\\\n' + '\n'.join(body) + '"""'
def lit_ml(key,s):
    assert "'''" not in s and all(c in '\n\t' or ord(c)>=0x20 for c in s), key
    return f"{key} = '''\n{s}'''"
def num(x):
    return str(int(x)) if float(x).is_integer() and abs(x)<1e15 else repr(x)
def canon(v):
    if isinstance(v,bool): return 'true' if v else 'false'
    if isinstance(v,str): return json.dumps(v, ensure_ascii=False)
    if isinstance(v,int): return str(v)
    if isinstance(v,float):
        t='%.17g'%v
        if not re.search('[.eEn]',t): t+='.0'
        return t
    if isinstance(v,list): return '['+', '.join(canon(x) for x in v)+']'
    raise ValueError(v)
def emit_opts(opts, hdr, out):
    for o in opts:
        out.append(''); out.append(f'[[{hdr}]]')
        if 'group' in o:
            out.append(f'group = "{o["group"]}"'); continue
        out.append(f'name = "{esc(o["name"])}"')
        if o['type']!='string': out.append(f'type = "{o["type"]}"')
        if o['doc']: out.append(tstr('doc',o['doc']))
        if o['default'] is not None:
            d=o['default']
            v=tomllib.loads('x = '+d)['x']
            assert canon(v)==d, (o['name'], d, canon(v))
            out.append('default = '+d)
        opt = o.get('optional')
        if opt is None:  # older JSON without the field: exact except for plain tables
            opt = not o['required'] and o['default'] is None and o['type'] != 'table'
            if o['type'] == 'table': print('note: check optional of table', o['name'], file=sys.stderr)
        if opt: out.append('optional = true')
        if o.get('choices'): out.append('choices = ['+', '.join(json.dumps(c) for c in o['choices'])+']')
        if 'min' in o: out.append('min = '+num(o['min']))
        if 'max' in o: out.append('max = '+num(o['max']))
        if o['type']=='list' and o.get('element','string')!='string': out.append(f'element = "{o["element"]}"')
        if o.get('deprecated_aliases'): out.append('aliases = ['+', '.join(json.dumps(c) for c in o['deprecated_aliases'])+']')
        if o.get('advanced'): out.append('advanced = true')
        if o.get('requires_feature'): out.append(f'requires_feature = "{o["requires_feature"]}"')
        if o.get('children'): emit_opts(o['children'], hdr+'.children', out)
names={'bootstrap_servers':'connection','protocol_version':'session','connection_string':'connection',
       'endpoint':'endpoint','bearer_token':'client','type':'auth'}
def group_folder(folder_specs):
    groups={}
    changed=True
    while changed:
        lists=[]
        def collect(opts):
            lists.append(opts)
            for o in opts: collect(o.get('children',[]))
        for s in folder_specs: collect(s['options'])
        for g in groups.values(): collect(g)
        changed=False
        best=None
        for i in range(len(lists)):
            for j in range(i+1,len(lists)):
                A=[json.dumps(o,sort_keys=True) for o in lists[i]]; B=[json.dumps(o,sort_keys=True) for o in lists[j]]
                for a in range(len(A)):
                    for b in range(len(B)):
                        n=0
                        while a+n<len(A) and b+n<len(B) and A[a+n]==B[b+n] and 'group' not in lists[i][a+n]: n+=1
                        if n>=2 and (best is None or n>best[0]): best=(n,i,j,a,b)
        if best:
            n,i,j,a,b=best
            run=lists[i][a:a+n]
            name=names[run[0]['name']]
            assert name not in groups
            groups[name]=run
            lists[i][a:a+n]=[{'group':name}]
            lists[j][b:b+n]=[{'group':name}]
            changed=True
    return groups
files={}
folder_groups={}
for f in sorted(set(v[0] for v in where.values())):
    if not any(where.get((s['kind'],s['name']),('',))[0]==f for s in specs): continue
    folder_groups[f]=group_folder([s for s in specs if where[(s['kind'],s['name'])][0]==f])
for s in specs:
    if (s['kind'],s['name']) not in where: continue
    folder,id=where[(s['kind'],s['name'])]
    out=files.setdefault(folder,[])
    out.append('');out.append(f'[{id}]')
    out.append(f'name = "{s["name"]}"'); out.append(f'kind = "{s["kind"]}"')
    out.append(tstr('summary',s['summary']))
    out.append(tstr('description',s['description']))
    if s['idempotent']: out.append('idempotent = true')
    if s['plugin_aliases']: out.append('plugin_aliases = ['+', '.join(json.dumps(c) for c in s['plugin_aliases'])+']')
    if s['example']: out.append(lit_ml('example',s['example']))
    emit_opts(s['options'], id+'.options', out)
for f,gs in folder_groups.items():
    for name,run in gs.items():
        files[f].append(''); files[f].append(f'# Options several of the specs above share (`group = "{name}"`).')
        emit_opts(run,'groups.'+name,files[f])
root=sys.argv[2]
for folder,lines in files.items():
    if only and folder not in only: continue
    text='# The '+folder+' connector\'s specs as data: prose, example and option declarations (read by\n# config::builtin_spec; the layout is in docs/adding-a-connector.md). spec.cpp keeps the checks.\n'+'\n'.join(lines).lstrip('\n')+'\n'
    # the header lines then a blank line
    text=text.replace('spec.cpp keeps the checks.\n','spec.cpp keeps the checks.\n\n',1)
    # verify round trip of strings
    d=tomllib.loads(text)
    open(os.path.join(root,folder,'spec.toml'),'w').write(text)
print('ok', {k:len(v) for k,v in files.items()})
